//! Facts about the machine the process runs on, shared by every layer.

/// The cores this process may run on (2 when that cannot be read): one
/// count for the password-hashing slots and the request turns alike.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}
