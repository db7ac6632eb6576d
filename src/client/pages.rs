//! Listing a namespace's keys page by page, the one way every command does it: a cursor the
//! service has sent before, or a page whose keys do not come after the previous page's (the
//! list is in ascending key order), ends the listing with [`ApiError::Listing`] instead of
//! following it in circles.

use std::collections::HashSet;
use std::hash::{Hash as _, Hasher as _};

use super::{ApiError, Client};
use crate::api::types::Key;

/// Largest page the API serves.
pub(crate) const PAGE: u32 = 1000;
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
    /// The last key of the previous page.
    last: Option<String>,
    empty: u32,
    done: bool,
    /// Why the page after the last one returned cannot be asked for: reported by the next
    /// call, so that the keys of the page that carried the bad cursor are not lost.
    stuck: Option<String>,
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
            last: None,
            empty: 0,
            done: false,
            stuck: None,
        }
    }

    /// The next pages hold at most `limit` keys.
    pub(crate) fn set_limit(&mut self, limit: u32) {
        self.limit = limit;
    }

    /// The cursor the next page starts from: `None` once the listing is complete.
    pub(crate) fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|_| !self.done)
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
        if let (Some(last), Some(first)) = (&self.last, page.data.first())
            && first.key.as_bytes() <= last.as_bytes()
        {
            return Err(self.listing(format!(
                "a page starts at `{}`, not after `{last}`, where the previous page ended",
                first.key
            )));
        }
        if page
            .data
            .windows(2)
            .any(|pair| pair[0].key.as_bytes() >= pair[1].key.as_bytes())
        {
            return Err(self.listing("a page is not in ascending key order".to_owned()));
        }
        if let Some(last) = page.data.last() {
            self.last = Some(last.key.clone());
            self.empty = 0;
        } else {
            self.empty += 1;
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
