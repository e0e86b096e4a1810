//! `$ref` resolution inside one schema document: base URIs from `$id`
//! (`id` in draft 4), `$anchor`s, and JSON pointers.
//!
//! Only references that land inside the document are supported; anything
//! else (another file, a URL) is an error naming the reference.

use std::collections::HashMap;

use serde_json::Value;

use super::Draft;

/// The base URI of a document without `$id`.
pub(crate) const DEFAULT_BASE: &str = "file:///rein-schema.json";

/// Keywords whose value is one subschema.
pub(crate) const SCHEMA_KEYWORDS: &[&str] = &[
    "additionalProperties",
    "additionalItems",
    "items",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contentSchema",
];
/// Keywords whose value is an array of subschemas.
pub(crate) const SCHEMA_ARRAY_KEYWORDS: &[&str] =
    &["allOf", "anyOf", "oneOf", "prefixItems", "items"];
/// Keywords whose value is an object of subschemas.
pub(crate) const SCHEMA_MAP_KEYWORDS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
    "dependencies",
];

/// Where `$id`s and anchors point, by absolute URI.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// Resource URI (no fragment) -> JSON pointer of the resource.
    resources: HashMap<String, String>,
    /// `uri#anchor` -> JSON pointer.
    anchors: HashMap<String, String>,
    /// JSON pointer of each schema object -> the base URI it is seen
    /// under (before its own `$id`).
    bases: HashMap<String, String>,
}

/// A resolved reference.
#[derive(Clone, Debug)]
pub(crate) struct Target<'a> {
    pub(crate) node: &'a Value,
    pub(crate) pointer: String,
    pub(crate) base: String,
}

/// The `$id` keyword of a schema object in `draft`, if any.
pub(crate) fn id_of(m: &serde_json::Map<String, Value>, draft: Draft) -> Option<&str> {
    let key = if draft == Draft::Draft4 { "id" } else { "$id" };
    m.get(key).and_then(Value::as_str)
}

impl Index {
    pub(crate) fn build(root: &Value, draft: Draft) -> Index {
        let mut ix = Index::default();
        ix.resources.insert(DEFAULT_BASE.to_string(), String::new());
        // The root's own `$id` is applied in the loop, like any other.
        let mut stack = vec![(root, String::new(), DEFAULT_BASE.to_string())];
        while let Some((node, ptr, base)) = stack.pop() {
            let Some(m) = node.as_object() else { continue };
            // Bases are recorded as seen from outside the object: whoever
            // compiles it applies its `$id` again.
            ix.bases.insert(ptr.clone(), base.clone());
            let mut base = base;
            if let Some(id) = id_of(m, draft) {
                let full = resolve_uri(&base, id);
                let (uri, frag) = split_fragment(&full);
                if frag.is_empty() || ptr.is_empty() {
                    base = uri.to_string();
                    ix.resources.entry(uri.to_string()).or_insert(ptr.clone());
                } else if !frag.starts_with('/') {
                    // Draft 6/7 anchors: `"$id": "#name"`.
                    base = uri.to_string();
                    ix.anchors.insert(full.clone(), ptr.clone());
                }
            }
            if let Some(a) = m.get("$anchor").and_then(Value::as_str) {
                ix.anchors.insert(format!("{base}#{a}"), ptr.clone());
            }
            for (k, v) in m {
                let kp = format!("{ptr}/{}", escape_token(k));
                if SCHEMA_KEYWORDS.contains(&k.as_str()) && v.is_object() {
                    stack.push((v, kp.clone(), base.clone()));
                }
                if SCHEMA_ARRAY_KEYWORDS.contains(&k.as_str()) {
                    if let Some(a) = v.as_array() {
                        for (i, x) in a.iter().enumerate() {
                            stack.push((x, format!("{kp}/{i}"), base.clone()));
                        }
                    }
                }
                if SCHEMA_MAP_KEYWORDS.contains(&k.as_str()) {
                    if let Some(o) = v.as_object() {
                        for (name, x) in o {
                            stack.push((x, format!("{kp}/{}", escape_token(name)), base.clone()));
                        }
                    }
                }
            }
        }
        ix
    }

    /// Resolves `reference` (a `$ref` value) seen under base URI `base`.
    pub(crate) fn resolve<'a>(
        &self,
        root: &'a Value,
        base: &str,
        reference: &str,
    ) -> Result<Target<'a>, String> {
        let full = resolve_uri(base, reference);
        let (uri, frag) = split_fragment(&full);
        let frag = percent_decode(frag);
        let Some(res_ptr) = self.resources.get(uri) else {
            return Err(format!(
                "the reference {reference:?} points outside this document ({uri}); only \
                 references within the schema are supported"
            ));
        };
        let pointer = if frag.is_empty() {
            res_ptr.clone()
        } else if frag.starts_with('/') {
            format!("{res_ptr}{frag}")
        } else {
            match self.anchors.get(&format!("{uri}#{frag}")) {
                Some(p) => p.clone(),
                None => {
                    return Err(format!(
                        "the anchor {frag:?} of {reference:?} is not defined"
                    ))
                }
            }
        };
        let Some(node) = root.pointer(&pointer) else {
            return Err(format!(
                "the reference {reference:?} points to {pointer:?}, which does not exist"
            ));
        };
        let base = match self.bases.get(&pointer) {
            Some(b) => b.clone(),
            None => uri.to_string(),
        };
        Ok(Target {
            node,
            pointer,
            base,
        })
    }
}

/// Escapes a JSON pointer token (`~` → `~0`, `/` → `~1`).
pub(crate) fn escape_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

fn split_fragment(u: &str) -> (&str, &str) {
    match u.find('#') {
        Some(i) => (&u[..i], &u[i + 1..]),
        None => (u, ""),
    }
}

fn strip_fragment(u: &str) -> &str {
    split_fragment(u).0
}

fn scheme_len(u: &str) -> Option<usize> {
    let mut it = u.char_indices();
    let (_, c) = it.next()?;
    if !c.is_ascii_alphabetic() {
        return None;
    }
    for (i, c) in it {
        if c == ':' {
            return Some(i);
        }
        if !(c.is_ascii_alphanumeric() || "+.-".contains(c)) {
            return None;
        }
    }
    None
}

/// RFC 3986 reference resolution (section 5.2), enough for `$id`/`$ref`.
pub(crate) fn resolve_uri(base: &str, r: &str) -> String {
    if scheme_len(r).is_some() {
        return remove_dots_in_uri(r);
    }
    let base = strip_fragment(base);
    if r.is_empty() {
        return base.to_string();
    }
    if r.starts_with('#') {
        return format!("{base}{r}");
    }
    let Some(sl) = scheme_len(base) else {
        return r.to_string();
    };
    let scheme = &base[..sl];
    let rest = &base[sl + 1..];
    let (authority, path_q) = if let Some(a) = rest.strip_prefix("//") {
        let end = a.find(['/', '?']).unwrap_or(a.len());
        (Some(&a[..end]), &a[end..])
    } else {
        (None, rest)
    };
    let path = path_q.split('?').next().unwrap_or("");
    let prefix = match authority {
        Some(a) => format!("{scheme}://{a}"),
        None => format!("{scheme}:"),
    };
    if let Some(x) = r.strip_prefix("//") {
        return format!("{scheme}://{}", remove_dots_path_part(x));
    }
    if r.starts_with('?') {
        return format!("{prefix}{path}{r}");
    }
    if r.starts_with('/') {
        return format!("{prefix}{}", remove_dots_path_part(r));
    }
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None if authority.is_some() => "/",
        None => "",
    };
    format!("{prefix}{}", remove_dots_path_part(&format!("{dir}{r}")))
}

fn remove_dots_in_uri(u: &str) -> String {
    match scheme_len(u) {
        Some(sl) => {
            let rest = &u[sl + 1..];
            if let Some(a) = rest.strip_prefix("//") {
                let end = a.find(['/', '?', '#']).unwrap_or(a.len());
                format!(
                    "{}://{}{}",
                    &u[..sl],
                    &a[..end],
                    remove_dots_path_part(&a[end..])
                )
            } else {
                u.to_string()
            }
        }
        None => u.to_string(),
    }
}

/// Removes `.` and `..` segments from the path at the start of `p` (query
/// and fragment kept as they are).
fn remove_dots_path_part(p: &str) -> String {
    let end = p.find(['?', '#']).unwrap_or(p.len());
    let (path, tail) = p.split_at(end);
    let mut out: Vec<&str> = Vec::new();
    let absolute = path.starts_with('/');
    let segs: Vec<&str> = path.split('/').collect();
    for (i, s) in segs.iter().enumerate() {
        match *s {
            "." => {
                if i + 1 == segs.len() {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 || (out.len() == 1 && !absolute) {
                    out.pop();
                }
                if i + 1 == segs.len() {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let mut joined = out.join("/");
    if absolute && !joined.starts_with('/') {
        joined.insert(0, '/');
    }
    joined + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uri_resolution() {
        assert_eq!(
            resolve_uri("http://a/b/c.json", "d.json"),
            "http://a/b/d.json"
        );
        assert_eq!(
            resolve_uri("http://a/b/c.json", "#/x"),
            "http://a/b/c.json#/x"
        );
        assert_eq!(
            resolve_uri("http://a/b/c.json#y", "#/x"),
            "http://a/b/c.json#/x"
        );
        assert_eq!(resolve_uri("http://a/b/c.json", "/d"), "http://a/d");
        assert_eq!(resolve_uri("http://a/b/c.json", "../d"), "http://a/d");
        assert_eq!(resolve_uri("http://a/b/c.json", "urn:x"), "urn:x");
        assert_eq!(resolve_uri("http://a/b/", "c/./d"), "http://a/b/c/d");
        assert_eq!(
            resolve_uri(DEFAULT_BASE, "#foo"),
            format!("{DEFAULT_BASE}#foo")
        );
    }

    #[test]
    fn pointers_ids_and_anchors() {
        let s = json!({
            "$id": "http://example.com/root.json",
            "$defs": {
                "a": {"type": "integer"},
                "b": {"$id": "b.json", "$defs": {"c": {"$anchor": "cee", "type": "string"}}},
                "x~/y": {"type": "null"}
            }
        });
        let ix = Index::build(&s, Draft::Draft2020);
        let base = "http://example.com/root.json";
        let t = ix.resolve(&s, base, "#/$defs/a").unwrap();
        assert_eq!(t.pointer, "/$defs/a");
        let t = ix.resolve(&s, base, "b.json#/$defs/c").unwrap();
        assert_eq!(t.pointer, "/$defs/b/$defs/c");
        let t = ix
            .resolve(&s, base, "http://example.com/b.json#cee")
            .unwrap();
        assert_eq!(t.pointer, "/$defs/b/$defs/c");
        assert_eq!(t.base, "http://example.com/b.json");
        let t = ix.resolve(&s, base, "#/$defs/x~0~1y").unwrap();
        assert_eq!(t.node, &json!({"type": "null"}));
        let t = ix.resolve(&s, base, "#/$defs/x~0%7E1y");
        assert!(t.is_ok());
        assert!(ix.resolve(&s, base, "http://other.com/x.json").is_err());
        assert!(ix.resolve(&s, base, "#/$defs/missing").is_err());
    }

    #[test]
    fn draft4_ids() {
        let s =
            json!({"id": "http://x/root", "definitions": {"a": {"id": "#foo", "type": "null"}}});
        let ix = Index::build(&s, Draft::Draft4);
        let t = ix.resolve(&s, "http://x/root", "#foo").unwrap();
        assert_eq!(t.pointer, "/definitions/a");
    }
}
