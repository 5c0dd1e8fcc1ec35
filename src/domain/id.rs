//! Ids as the API shows them: UUIDs (version 7, so they follow creation
//! time). One parser for every id a client sends; what a malformed id means
//! (bad input, or nothing found) is the caller's to say.

use uuid::Uuid;

/// The id in `raw`, if it is one.
pub fn parse(raw: &str) -> Option<Uuid> {
    Uuid::parse_str(raw.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_with_surrounding_space_and_nothing_else() {
        let id = Uuid::now_v7();
        assert_eq!(parse(&format!(" {id} ")), Some(id));
        assert_eq!(parse("not-an-id"), None);
        assert_eq!(parse(""), None);
    }
}
