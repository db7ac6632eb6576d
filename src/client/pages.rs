//! Listings page by page, the one way every command does it: [`NamespacePages`] for the
//! namespaces (numbered pages, as many as the list says it has) and [`KeyPages`] for a
//! namespace's keys (a cursor to the next page). For keys, a cursor the service has sent
//! before, a page it has sent before, a page that says more follow without a cursor, or
//! endless empty pages end the listing with [`ApiError::Listing`] instead of following it in
//! circles or stopping short as if complete. Only the items of pages already returned are kept,
//! by the caller.

use std::collections::HashSet;
use std::hash::{Hash as _, Hasher as _};

use super::{ApiError, Client};
use crate::api::types::{Key, Namespace};

/// Largest page of keys the API serves.
pub(crate) const PAGE: u32 = 1000;
/// Namespaces asked for a page when every page is read.
pub(crate) const NAMESPACE_PAGE: u64 = 250;

/// The pages of the namespace list, fetched one at a time with [`NamespacePages::next`].
pub(crate) struct NamespacePages {
    client: Client,
    /// The page asked for next (the first is 1).
    page: u64,
    size: u64,
    done: bool,
}

impl NamespacePages {
    /// Every namespace, [`NAMESPACE_PAGE`] a page.
    pub(crate) fn all(client: &Client) -> Self {
        Self::new(client, 1, NAMESPACE_PAGE)
    }

    /// The pages of `size` namespaces from page `first` on.
    pub(crate) fn new(client: &Client, first: u64, size: u64) -> Self {
        Self {
            client: client.clone(),
            page: first,
            size,
            done: false,
        }
    }

    /// The next page's namespaces; `None` after the last page (a list always has one, empty or
    /// not).
    pub(crate) async fn next(&mut self) -> Result<Option<Vec<Namespace>>, ApiError> {
        if self.done {
            return Ok(None);
        }
        let list = self.client.list_namespaces(self.page, self.size).await?;
        self.done = self.page >= list.meta.total_pages;
        self.page += 1;
        Ok(Some(list.data))
    }
}
/// Empty pages in a row that still say `has_more` before the listing is taken to go nowhere.
const EMPTY_PAGES: u32 = 16;

/// The pages of one listing, fetched one at a time with [`KeyPages::next`].
pub(crate) struct KeyPages {
    client: Client,
    ns: String,
    prefix: Option<String>,
    limit: u32,
    cursor: Option<String>,
    /// Hashes of the cursors followed so far: 8 bytes a page, not a key.
    followed: HashSet<u64>,
    /// Hashes of the pages read so far (their keys): 8 bytes a page.
    pages: HashSet<u64>,
    empty: u32,
    done: bool,
    /// Why the page after the last one returned cannot be asked for: reported by the next
    /// call, so that the keys of the page that carried the bad cursor are not lost.
    stuck: Option<String>,
    /// The service's `Date` on the last page returned.
    date: Option<i64>,
}

impl KeyPages {
    /// Every key of `ns` that starts with `prefix` (all keys for `None`), from `cursor` on.
    pub(crate) fn new(
        client: &Client,
        ns: &str,
        prefix: Option<&str>,
        cursor: Option<&str>,
    ) -> Self {
        Self {
            client: client.clone(),
            ns: ns.to_owned(),
            prefix: prefix.map(str::to_owned),
            limit: PAGE,
            cursor: cursor.map(str::to_owned),
            followed: HashSet::new(),
            pages: HashSet::new(),
            empty: 0,
            done: false,
            stuck: None,
            date: None,
        }
    }

    /// The next pages hold at most `limit` keys.
    pub(crate) fn set_limit(&mut self, limit: u32) {
        self.limit = limit;
    }

    /// When the service sent the last page returned (its `Date`, Unix seconds), if it said.
    pub(crate) fn date(&self) -> Option<i64> {
        self.date
    }

    /// The cursor the next page starts from: `None` once the listing is complete.
    pub(crate) fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|_| !self.done)
    }

    /// The error the next page would meet, for a caller that stops here (`--limit`): a cursor
    /// that cannot be followed must not be handed on as one that can.
    pub(crate) fn check(&mut self) -> Result<(), ApiError> {
        match self.stuck.take() {
            Some(reason) => {
                self.done = true;
                Err(self.listing(reason))
            }
            None => Ok(()),
        }
    }

    /// The next page's keys; `None` after the last page.
    pub(crate) async fn next(&mut self) -> Result<Option<Vec<Key>>, ApiError> {
        if let Some(reason) = self.stuck.take() {
            self.done = true;
            return Err(self.listing(reason));
        }
        if self.done {
            return Ok(None);
        }
        let page = self
            .client
            .list_keys(
                &self.ns,
                self.prefix.as_deref(),
                Some(self.limit),
                self.cursor.as_deref(),
            )
            .await?;
        self.date = page.date;
        // The order of keys is the service's affair; a page the service sent before (the same
        // keys, under a new cursor) is not progress.
        if !page.data.is_empty() && !self.pages.insert(page_fingerprint(&page.data)) {
            self.done = true;
            return Err(self.listing(format!(
                "the service sent a page it had sent before (from `{}` to `{}`)",
                page.data.first().map_or("", |k| k.key.as_str()),
                page.data.last().map_or("", |k| k.key.as_str())
            )));
        }
        if page.data.is_empty() {
            self.empty += 1;
        } else {
            self.empty = 0;
        }
        if page.meta.has_more && page.meta.cursor.is_none() {
            self.stuck =
                Some("a page says more keys follow but gives no cursor to them".to_owned());
        }
        match page.meta.cursor.filter(|_| page.meta.has_more) {
            Some(next) => {
                if !self.followed.insert(fingerprint(&next)) {
                    self.stuck = Some(format!(
                        "the service sent the cursor `{}` a second time",
                        shortened(&next)
                    ));
                } else if self.empty >= EMPTY_PAGES {
                    self.stuck = Some(format!(
                        "{EMPTY_PAGES} empty pages in a row still say more keys follow"
                    ));
                }
                self.cursor = Some(next);
            }
            None => self.done = true,
        }
        Ok(Some(page.data))
    }
}

impl KeyPages {
    fn listing(&self, reason: String) -> ApiError {
        ApiError::Listing {
            url: self
                .client
                .url_shown(&format!("/storage/kvs/{}/keys", self.ns)),
            reason,
        }
    }
}

fn page_fingerprint(keys: &[Key]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for key in keys {
        key.key.hash(&mut hasher);
    }
    hasher.finish()
}

fn fingerprint(cursor: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    cursor.hash(&mut hasher);
    hasher.finish()
}

/// A cursor as shown in a message: whole when short, its ends when long.
fn shortened(cursor: &str) -> String {
    let chars: Vec<char> = cursor.chars().collect();
    if chars.len() <= 64 {
        return cursor.to_owned();
    }
    let head: String = chars[..30].iter().collect();
    let tail: String = chars[chars.len() - 30..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_cursors_are_shown_by_their_ends() {
        assert_eq!(shortened("c1"), "c1");
        let long = format!("{}{}", "a".repeat(40), "b".repeat(40));
        assert_eq!(
            shortened(&long),
            format!("{}…{}", "a".repeat(30), "b".repeat(30))
        );
    }
}
