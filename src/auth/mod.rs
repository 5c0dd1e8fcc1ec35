//! Who is calling: the password policy and hashing, tokens, and the viewer
//! of a request, decided once from its credentials. `auth` sits beside
//! `domain`, which imports it; it never imports `domain`.

pub mod password;
mod password_policy;
pub mod token;
pub mod viewer;

pub use password::hashing_waiting;
pub use password_policy::Password;
pub use token::TokenKeys;
pub use viewer::{Credentials, Viewer, ViewerModerator};
