//! Editing a function's `func.toml`: the `[storage.kv.BINDING]` tables that bind namespaces.
//!
//! The file is hand-written and commented, so edits go through `toml_edit` and touch only the
//! binding concerned: every other byte (tables, comments, blank lines, quoting, order) stays as
//! it was. The style of existing bindings is kept (`[storage.kv.X]` tables, dotted keys
//! `storage.kv.X.id = …`, or inline tables `storage = { kv = { … } }`), no empty `[storage]` or
//! `[storage.kv]` headers appear, CRLF files stay CRLF, and writes are atomic and keep the
//! file's permissions.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};

use crate::local::atomic::AtomicFile;
use crate::local::toml_file::{self, TomlLoadError};

#[derive(Debug, thiserror::Error)]
pub enum FuncTomlError {
    #[error(transparent)]
    Load(#[from] TomlLoadError),
    #[error("`{}` has `{key}` but it is not a table, so bindings cannot be added under it", path.display())]
    NotATable { path: PathBuf, key: &'static str },
    #[error("binding `{binding}` in `{}` points to namespace `{existing}`", path.display())]
    Clash {
        path: PathBuf,
        binding: String,
        existing: String,
    },
    #[error("binding `{binding}` in `{}` has an `id` that is not a string", path.display())]
    OddId { path: PathBuf, binding: String },
    #[error("cannot write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What [`FuncToml::bind`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    Added,
    /// The binding already pointed at this id.
    Unchanged,
    /// The binding pointed at another id, given here.
    Replaced(String),
}

/// Checks a binding name: `[A-Z_][A-Z0-9_]*`.
pub(crate) fn valid_binding(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_uppercase() || b == b'_')
        && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The conventional binding of a namespace name: upper case, `-` → `_`, anything else outside
/// `[A-Z0-9_]` → `_`, and a leading `_` when it would start with a digit.
pub(crate) fn binding_for(name: &str) -> String {
    let mut binding: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' => c.to_ascii_uppercase(),
            'A'..='Z' | '0'..='9' | '_' => c,
            _ => '_',
        })
        .collect();
    if binding.is_empty() || binding.starts_with(|c: char| c.is_ascii_digit()) {
        binding.insert(0, '_');
    }
    binding
}

/// The namespace name a local mirror of a binding gets: lower case, `_` → `-`.
pub(crate) fn name_for(binding: &str) -> String {
    let name: String = binding
        .chars()
        .map(|c| match c {
            '_' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    if name.is_empty() {
        "binding".into()
    } else {
        name
    }
}

/// A `func.toml` as read, and as it will be written.
#[derive(Debug, Clone)]
pub struct FuncToml {
    path: PathBuf,
    original: String,
    exists: bool,
    doc: DocumentMut,
}

impl FuncToml {
    /// Reads and parses `path`; a file that does not exist yet is empty.
    pub fn load(path: &Path) -> Result<Self, FuncTomlError> {
        let file = toml_file::load(path, "")?;
        Ok(Self {
            path: path.to_owned(),
            original: file.text,
            exists: file.exists,
            doc: file.doc,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn kv(&self) -> Option<&Item> {
        self.doc.get("storage")?.get("kv")
    }

    /// Every binding with a string `id`, in file order.
    pub fn bindings(&self) -> Vec<(String, String)> {
        let Some(kv) = self.kv() else {
            return Vec::new();
        };
        let entries: Vec<(String, Option<String>)> = match kv {
            Item::Table(table) => table
                .iter()
                .map(|(name, item)| (name.to_owned(), id_of(item)))
                .collect(),
            Item::Value(Value::InlineTable(table)) => table
                .iter()
                .map(|(name, value)| {
                    let id = value
                        .as_inline_table()
                        .and_then(|t| t.get("id"))
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    (name.to_owned(), id)
                })
                .collect(),
            _ => Vec::new(),
        };
        entries
            .into_iter()
            .filter_map(|(name, id)| id.map(|id| (name, id)))
            .collect()
    }

    /// The id `binding` points at.
    pub fn binding(&self, binding: &str) -> Option<String> {
        self.bindings()
            .into_iter()
            .find(|(name, _)| name == binding)
            .map(|(_, id)| id)
    }

    /// Points `binding` at `id`, adding `[storage.kv.BINDING]` (in the file's style) when it is
    /// new. A binding that points at another id is replaced only when `force`.
    pub fn bind(&mut self, binding: &str, id: &str, force: bool) -> Result<Bound, FuncTomlError> {
        match self.binding(binding) {
            Some(existing) if existing == id => Ok(Bound::Unchanged),
            Some(existing) if !force => Err(FuncTomlError::Clash {
                path: self.path.clone(),
                binding: binding.to_owned(),
                existing,
            }),
            Some(existing) => {
                self.replace_id(binding, id);
                Ok(Bound::Replaced(existing))
            }
            None => {
                self.add(binding, id)?;
                Ok(Bound::Added)
            }
        }
    }

    /// Points the `id` of an existing binding at `id`, keeping the comment after the value.
    fn replace_id(&mut self, binding: &str, id: &str) {
        if let Some(value) = self
            .doc
            .get_mut("storage")
            .and_then(|s| s.get_mut("kv"))
            .and_then(|k| k.get_mut(binding))
            .and_then(|b| b.get_mut("id"))
            .and_then(Item::as_value_mut)
        {
            // Keep the comment after the value, if any.
            let decor = value.decor().clone();
            *value = Value::from(id);
            *value.decor_mut() = decor;
        }
    }

    /// Adds `binding`, which has no usable `id` yet.
    fn add(&mut self, binding: &str, id: &str) -> Result<(), FuncTomlError> {
        // A table for the binding without a usable `id`: its other fields are the user's and
        // stay; an `id` that is not a string is not ours to overwrite.
        let path = self.path.clone();
        // (`Item::get_mut` would create what it does not find; `TableLike` lookups do not.)
        if let Some(table) = self
            .doc
            .as_table_mut()
            .get_mut("storage")
            .and_then(Item::as_table_like_mut)
            .and_then(|s| s.get_mut("kv"))
            .and_then(Item::as_table_like_mut)
            .and_then(|k| k.get_mut(binding))
            .and_then(Item::as_table_like_mut)
        {
            if table.get("id").is_some() {
                return Err(FuncTomlError::OddId {
                    path,
                    binding: binding.to_owned(),
                });
            }
            table.insert("id", toml_edit::value(id));
            return Ok(());
        }
        self.add_table(binding, id)
    }

    /// Adds `[storage.kv.BINDING]` in the style of what is there: tables, dotted keys or
    /// inline tables, creating the parents it needs.
    fn add_table(&mut self, binding: &str, id: &str) -> Result<(), FuncTomlError> {
        let path = self.path.clone();
        let first_item = self.doc.as_table().is_empty();
        let root = self.doc.as_table_mut();
        match root.get_mut("storage") {
            None => {
                let mut kv = implicit_table(false);
                kv.insert(binding, Item::Table(new_binding_table(id, first_item)));
                let mut storage = implicit_table(false);
                storage.insert("kv", Item::Table(kv));
                root.insert("storage", Item::Table(storage));
            }
            Some(Item::Table(storage)) => {
                let dotted = storage.is_dotted();
                match storage.get_mut("kv") {
                    None => {
                        let mut kv = implicit_table(dotted);
                        insert_into_table(&mut kv, binding, id, first_item);
                        storage.insert("kv", Item::Table(kv));
                    }
                    Some(Item::Table(kv)) => insert_into_table(kv, binding, id, first_item),
                    Some(Item::Value(Value::InlineTable(kv))) => insert_inline(kv, binding, id),
                    Some(_) => {
                        return Err(FuncTomlError::NotATable {
                            path,
                            key: "storage.kv",
                        });
                    }
                }
            }
            Some(Item::Value(Value::InlineTable(storage))) => match storage.get_mut("kv") {
                None => {
                    let mut kv = InlineTable::new();
                    insert_inline(&mut kv, binding, id);
                    storage.insert("kv", Value::InlineTable(kv));
                }
                Some(Value::InlineTable(kv)) => insert_inline(kv, binding, id),
                Some(_) => {
                    return Err(FuncTomlError::NotATable {
                        path,
                        key: "storage.kv",
                    });
                }
            },
            Some(_) => {
                return Err(FuncTomlError::NotATable {
                    path,
                    key: "storage",
                });
            }
        }
        Ok(())
    }

    /// Removes `binding` (and only it); `false` when there was none.
    ///
    /// The comment lines right above a `[storage.kv.BINDING]` header go with it; comments that
    /// a blank line separates from the header describe something else (often the whole file)
    /// and stay, moved in front of whatever follows.
    pub fn unbind(&mut self, binding: &str) -> bool {
        let removed = match self.doc.get_mut("storage").and_then(|s| s.get_mut("kv")) {
            Some(Item::Table(kv)) => kv.remove(binding),
            Some(Item::Value(Value::InlineTable(kv))) => return kv.remove(binding).is_some(),
            _ => None,
        };
        let Some(removed) = removed else {
            return false;
        };
        let Item::Table(table) = removed else {
            return true;
        };
        let prefix = text_of(table.decor().prefix());
        let kept = detached_comments(prefix);
        if kept.trim().is_empty() {
            return true;
        }
        let position = table.position().unwrap_or(isize::MIN);
        match next_position(self.doc.as_table(), position) {
            Some(next) => {
                if let Some(table) = table_at(self.doc.as_table_mut(), next) {
                    let rest = text_of(table.decor().prefix()).to_owned();
                    // One blank line between the kept comments and what follows is enough.
                    let rest = rest.trim_start_matches(['\n', '\r', ' ', '\t']);
                    table.decor_mut().set_prefix(format!("{kept}{rest}"));
                }
            }
            None => {
                // At the end of the file the comments need no blank line after them.
                let trailing = self.doc.trailing().as_str().unwrap_or("").to_owned();
                let kept = kept.trim_end_matches(['\n', '\r', ' ', '\t']);
                self.doc.set_trailing(format!("{kept}\n{trailing}"));
            }
        }
        true
    }

    /// The file as it will be written: the edited document with the original's line endings.
    pub fn render(&self) -> String {
        let text = self.doc.to_string();
        if self.original.contains("\r\n") {
            text.replace("\r\n", "\n").replace('\n', "\r\n")
        } else {
            text
        }
    }

    /// Whether writing would change the file.
    pub fn changed(&self) -> bool {
        !self.exists || self.render() != self.original
    }

    /// A unified diff from the file on disk to what would be written.
    pub fn diff(&self) -> String {
        let name = crate::local::project::display_path(&self.path);
        let (old, new) = if Path::new(&name).is_relative() {
            (format!("a/{name}"), format!("b/{name}"))
        } else {
            (name.clone(), name)
        };
        let rendered = self.render();
        similar::TextDiff::from_lines(&self.original, &rendered)
            .unified_diff()
            .context_radius(3)
            .header(&old, &new)
            .to_string()
    }

    /// Writes atomically (a temporary file in the same directory, then a rename), keeping the
    /// file's permissions.
    pub fn save(&self) -> Result<(), FuncTomlError> {
        let write_error = |source| FuncTomlError::Write {
            path: self.path.clone(),
            source,
        };
        let mut file = AtomicFile::new(&self.path).map_err(write_error)?;
        file.write_all(self.render().as_bytes())
            .map_err(write_error)?;
        let permissions = match std::fs::metadata(&self.path) {
            Ok(meta) => Some(meta.permissions()),
            Err(_) => default_permissions(),
        };
        if let Some(permissions) = permissions {
            file.set_permissions(permissions).map_err(write_error)?;
        }
        file.commit().map_err(write_error)
    }
}

/// A new file gets the usual mode (0644 less the umask would need libc; 0644 is what editors
/// create) rather than the temporary file's 0600.
#[cfg(unix)]
fn default_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt as _;
    Some(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn default_permissions() -> Option<std::fs::Permissions> {
    None
}

/// The part of a header's prefix up to and including its last blank line.
fn detached_comments(prefix: &str) -> String {
    let lines: Vec<&str> = prefix.split_inclusive('\n').collect();
    match lines.iter().rposition(|line| line.trim().is_empty()) {
        Some(last_blank) => lines[..=last_blank].concat(),
        None => String::new(),
    }
}

/// The smallest header position after `after` among all tables, however nested.
fn next_position(table: &Table, after: isize) -> Option<isize> {
    let mut positions = Vec::new();
    header_positions(table, &mut positions);
    positions.into_iter().filter(|p| *p > after).min()
}

fn header_positions(table: &Table, out: &mut Vec<isize>) {
    for (_, item) in table.iter() {
        match item {
            Item::Table(child) => {
                if !child.is_implicit() && !child.is_dotted() {
                    out.extend(child.position());
                }
                header_positions(child, out);
            }
            Item::ArrayOfTables(array) => {
                for child in array.iter() {
                    out.extend(child.position());
                    header_positions(child, out);
                }
            }
            _ => {}
        }
    }
}

/// The table whose header is at `position`.
fn table_at(table: &mut Table, position: isize) -> Option<&mut Table> {
    for (_, item) in table.iter_mut() {
        let found = match item {
            Item::Table(child) => {
                if child.position() == Some(position) && !child.is_implicit() && !child.is_dotted()
                {
                    return Some(child);
                }
                table_at(child, position)
            }
            Item::ArrayOfTables(array) => array.iter_mut().find_map(|child| {
                if child.position() == Some(position) {
                    Some(child)
                } else {
                    table_at(child, position)
                }
            }),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

fn id_of(item: &Item) -> Option<String> {
    item.get("id").and_then(Item::as_str).map(str::to_owned)
}

fn implicit_table(dotted: bool) -> Table {
    let mut table = Table::new();
    table.set_implicit(true);
    table.set_dotted(dotted);
    table
}

/// `[storage.kv.BINDING]` with `id = "…"`, separated from what precedes it by a blank line.
fn new_binding_table(id: &str, first_item: bool) -> Table {
    let mut table = Table::new();
    table.insert("id", toml_edit::value(id));
    if !first_item {
        table.decor_mut().set_prefix("\n");
    }
    table
}

fn insert_into_table(kv: &mut Table, binding: &str, id: &str, first_item: bool) {
    if kv.is_dotted() {
        let mut table = implicit_table(true);
        table.insert("id", toml_edit::value(id));
        kv.insert(binding, Item::Table(table));
    } else {
        kv.insert(binding, Item::Table(new_binding_table(id, first_item)));
    }
}

/// The text of a decor's prefix or suffix: empty when there is none, or when it is a span of
/// the original text rather than a string.
fn text_of(raw: Option<&toml_edit::RawString>) -> &str {
    raw.and_then(|raw| raw.as_str()).unwrap_or("")
}

fn insert_inline(kv: &mut InlineTable, binding: &str, id: &str) {
    let mut table = InlineTable::new();
    table.insert("id", Value::from(id));
    let mut value = Value::InlineTable(table);
    // The space before the closing brace belongs to the last entry; it moves to the new last
    // one so that the comma goes right after the previous value.
    if let Some((_, last)) = kv.iter_mut().last() {
        let suffix = text_of(last.decor().suffix()).to_owned();
        last.decor_mut().set_suffix("");
        value.decor_mut().set_suffix(suffix);
        value.decor_mut().set_prefix(" ");
    }
    kv.insert(binding, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_names() {
        assert!(valid_binding("MY_CACHE"));
        assert!(valid_binding("_X1"));
        for bad in ["my_cache", "1X", "MY-CACHE", "", "MY CACHE"] {
            assert!(!valid_binding(bad), "{bad}");
        }
        assert_eq!(binding_for("my-cache"), "MY_CACHE");
        assert_eq!(binding_for("2fa-codes"), "_2FA_CODES");
        assert_eq!(binding_for("My Cache"), "MY_CACHE");
        assert_eq!(name_for("MY_CACHE"), "my-cache");
    }
}
