//! Who is calling: password hashing, tokens, and the viewer of a request.

pub mod password;
pub mod token;
pub mod viewer;

pub use token::TokenKeys;
pub use viewer::{Viewer, ViewerModerator};
