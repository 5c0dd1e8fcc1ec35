//! Where the data key comes from: `PARLEY_DATA_KEY`, the file
//! `--data-key-file` names, or, for a SQLite database with neither, a key
//! file beside it (`parley.db.key`, readable by its owner only), made on
//! first start. Several PostgreSQL instances must share one key, so there a
//! key must be given.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use crate::store::DatabaseUrl;
use crate::store::sealing::DataKeys;

/// What to tell an operator who has no key yet.
const HOW_TO_MAKE_ONE: &str = "`parley keys generate` prints a new one; keep it in a file \
     readable by Parley only and name it with --data-key-file (PARLEY_DATA_KEY_FILE), or set \
     PARLEY_DATA_KEY";

/// The data key as configured.
#[derive(Clone, Default)]
pub enum DataKeySource {
    /// `PARLEY_DATA_KEY`, or the content of `--data-key-file`.
    Given { text: SecretString, from: String },
    /// Nothing given: the key file beside a SQLite database.
    #[default]
    BesideDatabase,
}

impl std::fmt::Debug for DataKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Given { from, .. } => write!(f, "DataKeySource::Given({from})"),
            Self::BesideDatabase => f.write_str("DataKeySource::BesideDatabase"),
        }
    }
}

impl DataKeySource {
    /// The key file at `path` (`--data-key-file`), read now.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        Ok(Self::Given {
            text: read_secret_file(path)?,
            from: format!("the data key file {}", path.display()),
        })
    }

    /// A key given as text (tests, embedding).
    pub fn given(text: impl Into<String>) -> Self {
        Self::Given {
            text: SecretString::from(text.into()),
            from: "the configured data key".to_owned(),
        }
    }

    /// The keys for `database_url`: those given, or the key file beside a
    /// SQLite database, or a new key to write there (see [`Loaded`]).
    /// Nothing is written yet.
    pub fn load(&self, database_url: &str) -> anyhow::Result<Loaded> {
        match self {
            Self::Given { text, from } => DataKeys::parse(text.expose_secret())
                .map(Loaded::Ready)
                .map_err(|err| anyhow::anyhow!("{from} cannot be used: {err}")),
            Self::BesideDatabase => match DatabaseUrl::parse(database_url)? {
                DatabaseUrl::Postgres { .. } => anyhow::bail!(
                    "PostgreSQL needs a data key, shared by every instance on the database, to \
                     seal readers' emails: {HOW_TO_MAKE_ONE}"
                ),
                DatabaseUrl::Sqlite { path } if is_in_memory(&path) => {
                    Ok(Loaded::Ready(DataKeys::parse(&DataKeys::generate())?))
                }
                DatabaseUrl::Sqlite { path } => {
                    let key_file = key_file_of(&path);
                    if key_file.exists() {
                        return read_key_file(&key_file).map(Loaded::Ready);
                    }
                    let text = DataKeys::generate();
                    Ok(Loaded::New {
                        keys: DataKeys::parse(&text)?,
                        text: SecretString::from(text),
                        key_file,
                    })
                }
            },
        }
    }
}

/// Keys ready to use, or a new key for a SQLite database that has no key
/// file yet.
pub enum Loaded {
    Ready(DataKeys),
    New {
        keys: DataKeys,
        text: SecretString,
        key_file: PathBuf,
    },
}

impl Loaded {
    /// The keys, once a new key is safely in its file. A database that
    /// already holds values sealed with a key (`sealed_before`) and has no
    /// key file has lost its key: a new one would not open it.
    pub fn keep(self, sealed_before: bool) -> anyhow::Result<DataKeys> {
        match self {
            Self::Ready(keys) => Ok(keys),
            // Another process starting on the same new database made it
            // meanwhile: its key is the one.
            Self::New { key_file, .. } if key_file.exists() => read_key_file(&key_file),
            Self::New { key_file, .. } if sealed_before => anyhow::bail!(
                "the data key file {} is missing, and this database's personal data is sealed \
                 with the key it held: restore it from your backup (or give the key with \
                 --data-key-file or PARLEY_DATA_KEY)",
                key_file.display()
            ),
            Self::New {
                keys,
                text,
                key_file,
            } => match write_new_key_file(&key_file, text.expose_secret()) {
                Ok(()) => {
                    tracing::warn!(
                        key_file = %key_file.display(),
                        "made a new data key: readers' emails are sealed with it. Back it up \
                         apart from the database: without it they cannot be read, and with it \
                         a stolen copy can"
                    );
                    Ok(keys)
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    read_key_file(&key_file)
                }
                Err(err) => Err(anyhow::Error::from(err).context(format!(
                    "could not write the data key file {}",
                    key_file.display()
                ))),
            },
        }
    }
}

/// The key file of the SQLite database at `database`: its path plus `.key`.
pub fn key_file_of(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

fn is_in_memory(path: &Path) -> bool {
    path.as_os_str() == ":memory:" || path.as_os_str().is_empty()
}

/// The keys in the file at `path`, which holds one or more keys (the one
/// that seals first).
pub fn read_key_file(path: &Path) -> anyhow::Result<DataKeys> {
    DataKeys::parse(read_secret_file(path)?.expose_secret()).map_err(|err| {
        anyhow::anyhow!("the data key file {} cannot be used: {err}", path.display())
    })
}

/// The content of a key file, with a warning when others can read it.
fn read_secret_file(path: &Path) -> anyhow::Result<SecretString> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read the data key file {}", path.display()))?;
    warn_if_others_can_read(path);
    Ok(SecretString::from(text))
}

/// Writes a new key file, readable by its owner only; fails if one exists.
/// The file appears whole or not at all (written aside, then linked into
/// place), so another process never reads it half-written; where the file
/// system has no hard links it is written in place. Its folder is synced,
/// so the key outlives a power cut as the data sealed with it does.
fn write_new_key_file(path: &Path, text: &str) -> std::io::Result<()> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".{}.new", hex::encode(rand::random::<[u8; 8]>())));
    let aside = PathBuf::from(aside);
    write_whole(&aside, text)?;
    let linked = std::fs::hard_link(&aside, path);
    let _ = std::fs::remove_file(&aside);
    match linked {
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => return Err(err),
        Err(_) => write_whole(path, text)?,
        Ok(()) => {}
    }
    sync_folder_of(path)
}

/// Creates the file `path` (which must not exist) holding `text` and a line
/// ending, readable by its owner only, and syncs it.
fn write_whole(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(format!("{text}\n").as_bytes())?;
    file.sync_all()
}

#[cfg(unix)]
fn sync_folder_of(path: &Path) -> std::io::Result<()> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(folder)?.sync_all()
}

#[cfg(not(unix))]
fn sync_folder_of(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Warns when the key file at `path` can be read by other users.
#[cfg(unix)]
fn warn_if_others_can_read(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = std::fs::metadata(path)
        && metadata.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            key_file = %path.display(),
            "the data key file is readable by other users: `chmod 600` it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_others_can_read(_path: &Path) {}
