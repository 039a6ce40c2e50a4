//! Reads: get, list with selectors and pagination, and the change history watches replay.

use super::*;

impl Store {
    /// GET.
    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> ApiResult<Value> {
        self.bucket(rt)
            .and_then(|b| b.get(&(ns.to_string(), name.to_string())))
            .map(|o| Self::with_type_meta(rt, o.clone()))
            .ok_or_else(|| ApiError::not_found(target(rt, name)))
    }

    /// LIST with selectors and `limit`/`continue` pagination.
    pub fn list(
        &self,
        rt: &ResourceType,
        filter: &Filter,
        limit: Option<usize>,
        continue_token: Option<&str>,
    ) -> ApiResult<Page> {
        let start_after = match continue_token.filter(|t| !t.is_empty()) {
            Some(token) => Some(self.decode_continue(token)?),
            None => None,
        };
        // Every page of a list carries the first page's resourceVersion, as the real server's
        // snapshot does: a watch from it then replays whatever changed while the pages were read
        // (later pages may show newer states; replaying those changes is harmless, missing them
        // is not).
        let resource_version = start_after.as_ref().map_or(self.rv, |(rv, _)| *rv);
        let mut matching = self
            .bucket(rt)
            .into_iter()
            .flatten()
            .filter(|((ns, _), o)| filter.matches(ns, o))
            .filter(|(key, _)| start_after.as_ref().is_none_or(|(_, after)| *key > after));
        let mut items = Vec::new();
        let mut last_key = None;
        for (key, object) in matching.by_ref() {
            if limit.is_some_and(|l| l > 0 && items.len() >= l) {
                // One more exists: this page ends at the previous key.
                let remaining = 1 + matching.count();
                let token = self.encode_continue(
                    resource_version,
                    last_key.as_ref().expect("page is non-empty"),
                );
                return Ok(Page {
                    items,
                    resource_version,
                    continue_token: Some(token),
                    remaining: Some(remaining),
                });
            }
            items.push(Self::with_type_meta(rt, object.clone()));
            last_key = Some(key.clone());
        }
        Ok(Page {
            items,
            resource_version,
            continue_token: None,
            remaining: None,
        })
    }

    pub(super) fn encode_continue(&self, rv: u64, key: &(String, String)) -> String {
        let raw = json!({ "rv": rv, "ns": key.0, "name": key.1 }).to_string();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    pub(super) fn decode_continue(&self, token: &str) -> ApiResult<(u64, (String, String))> {
        let invalid = || ApiError::bad_request(format!("continue key is not valid: {token}"));
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| invalid())?;
        let v: Value = serde_json::from_slice(&raw).map_err(|_| invalid())?;
        let rv = v.get("rv").and_then(Value::as_u64).ok_or_else(invalid)?;
        if rv < self.oldest_watchable {
            return Err(ApiError::expired(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
            ));
        }
        let key = (
            str_at(&v, "/ns").unwrap_or_default().to_string(),
            str_at(&v, "/name").unwrap_or_default().to_string(),
        );
        Ok((rv, key))
    }

    /// Changes after `rv` that are still in the history, or 410 if some were compacted away.
    pub fn changes_since(&self, rv: u64) -> ApiResult<Vec<Arc<Change>>> {
        if rv < self.oldest_watchable {
            return Err(ApiError::expired(format!(
                "too old resource version: {rv} ({})",
                self.oldest_watchable
            )));
        }
        Ok(self.history.iter().filter(|c| c.rv > rv).cloned().collect())
    }

    /// Current objects of a resource matching a filter (synthetic ADDED events of a watch).
    pub fn snapshot(&self, rt: &ResourceType, filter: &Filter) -> Vec<Value> {
        self.bucket(rt)
            .into_iter()
            .flatten()
            .filter(|((ns, _), o)| filter.matches(ns, o))
            .map(|(_, o)| Self::with_type_meta(rt, o.clone()))
            .collect()
    }
}
