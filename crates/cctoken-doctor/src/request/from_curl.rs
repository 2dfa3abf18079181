//! curl's rules for turning options into a request: `-d` pieces joined with `&`,
//! `--data-urlencode`'s `[name]=content` forms, `--json`, `-F`, `-G`, `-u` as raw Basic,
//! and a custom `Authorization` header replacing `-u`'s.

use super::json_body::{json_pairs, looks_like_json};
use super::{
    curl_escape, form_decode, Basic, BasicOrigin, BasicProblem, BodyKind, FormPair, Request,
    Source, UrlParts,
};
use crate::paste::curl::{CurlCommand, DataKind};
use crate::paste::dialect::Dialect;
use crate::paste::expand::{Arg, Seg};

fn escape_arg(a: &Arg) -> Arg {
    let mut out = a.clone();
    for s in &mut out.segs {
        if let Seg::Text(t) = s {
            *t = curl_escape(t);
        }
    }
    out
}

/// Split a form-encoded string into pairs. A piece whose name is a variable or an opaque
/// substitution (`$EXTRA`, `$NAME=x`) may stand for any parameters: it goes to `unseen`.
fn pairs_of(
    piece: &Arg,
    encoded: bool,
    original: Option<&Arg>,
    out: &mut Vec<FormPair>,
    unseen: &mut Vec<String>,
) {
    for part in piece.split('&') {
        if part.segs.is_empty() {
            continue;
        }
        let (name, raw, orphan) = match part.split_once('=') {
            Some((n, v)) => (n, v, false),
            None => (part.clone(), Arg::default(), true),
        };
        if name.is_symbolic() {
            unseen.push(part.display());
            if orphan {
                continue;
            }
        }
        let value = match original {
            Some(o) if encoded => o.clone(),
            _ => form_decode(&raw),
        };
        out.push(FormPair {
            name: form_decode(&name).display(),
            raw,
            value,
            encoded,
            orphan,
            in_query: false,
            multipart: false,
        });
    }
}

impl Request {
    /// The request curl would send for `c`.
    pub fn from_curl(c: &CurlCommand) -> Self {
        let mut r = Request {
            source: Source::Curl,
            method: String::new(),
            url: None,
            extra_urls: Vec::new(),
            headers: Vec::new(),
            content_type: None,
            body: BodyKind::None,
            form: Vec::new(),
            basic: None,
            user_option_ignored: false,
            other_auth: None,
            data_files: Vec::new(),
            unseen: Vec::new(),
            json_read: false,
            unknown_options: c.unknown_options.clone(),
            config_file: c.config_file,
            single_quoted_vars: Vec::new(),
            dialect: c.dialect,
            program: c.program.clone(),
            cut_lines: c.cut_lines.clone(),
            cmd_single_quotes: false,
            client_cert: c.client_cert.as_ref().map(Arg::display),
        };
        let mut sq = Vec::new();
        for a in all_args(c) {
            sq.extend(a.single_quoted_vars.iter().cloned());
        }
        sq.dedup();
        r.single_quoted_vars = sq;
        r.cmd_single_quotes = c.dialect == Dialect::Cmd
            && all_args(c)
                .any(|a| matches!(a.segs.first(), Some(Seg::Text(t)) if t.starts_with('\'')));
        if let Some((first, rest)) = c.urls.split_first() {
            r.url = Some(UrlParts::parse(&first.display(), first.is_symbolic()));
            // A blank argument (`\ ` at a line's end) is reported as a cut line instead.
            r.extra_urls = rest
                .iter()
                .filter(|u| !u.display().trim().is_empty())
                .map(|u| format!("{} bytes", u.display().len()))
                .collect();
        }
        for h in &c.headers {
            let Some((name, value)) = h.split_once(':') else {
                continue;
            };
            let name = name.display().trim().to_owned();
            let mut value = value;
            if let Some(Seg::Text(t)) = value.segs.first_mut() {
                *t = t.trim_start().to_owned();
            }
            value.normalize();
            r.headers.push((name, value));
        }
        // The body.
        let mut pieces_present = false;
        for d in &c.data {
            pieces_present = true;
            let lit = d.arg.literal();
            let is_file = |l: &Option<String>| l.as_deref().is_some_and(|s| s.starts_with('@'));
            match d.kind {
                DataKind::Data | DataKind::Binary if is_file(&lit) => {
                    let file = lit.unwrap_or_default();
                    r.data_files.push(format!("{} {file}", d.option));
                    r.unseen.push(file);
                }
                DataKind::Data | DataKind::Binary | DataKind::Raw => {
                    if looks_like_json(&d.arg) {
                        r.body = BodyKind::Json;
                        r.json_read = json_pairs(&d.arg, &mut r.form);
                    } else {
                        pairs_of(&d.arg, false, None, &mut r.form, &mut r.unseen);
                    }
                }
                DataKind::UrlEncode => urlencode_piece(d, &mut r),
            }
        }
        if let Some(u) = &r.url {
            if !u.query.is_empty() {
                let mut q = Vec::new();
                pairs_of(&Arg::text(&u.query), false, None, &mut q, &mut Vec::new());
                for mut p in q {
                    p.in_query = true;
                    r.form.push(p);
                }
            }
        }
        if c.get {
            for p in r.form.iter_mut() {
                p.in_query = true;
            }
        }
        for f in &c.forms {
            if let Some((n, v)) = f.split_once('=') {
                r.form.push(FormPair {
                    name: n.display(),
                    raw: v.clone(),
                    value: v,
                    encoded: true,
                    orphan: false,
                    in_query: false,
                    multipart: true,
                });
            }
        }
        for j in &c.json {
            r.json_read = json_pairs(j, &mut r.form);
        }
        if !c.json.is_empty() {
            r.body = BodyKind::Json;
        } else if !c.forms.is_empty() {
            r.body = BodyKind::Multipart;
        } else if pieces_present && !c.get && r.body != BodyKind::Json {
            r.body = BodyKind::Form;
        }
        r.content_type = r
            .header("content-type")
            .map(|v| v.display().trim().to_ascii_lowercase())
            .or_else(|| match (r.body, c.get) {
                (_, true) => None,
                (BodyKind::Json, _) if !c.json.is_empty() => Some("application/json".into()),
                (BodyKind::Multipart, _) => Some("multipart/form-data".into()),
                (BodyKind::None, _) => None,
                _ => Some("application/x-www-form-urlencoded".into()),
            });
        r.method = match c.method.as_ref().map(Arg::display) {
            Some(m) => m.to_ascii_uppercase(),
            None if c.head => "HEAD".into(),
            None if c.get => "GET".into(),
            None if r.body != BodyKind::None || pieces_present => "POST".into(),
            None => "GET".into(),
        };
        // Client authentication.
        let auth_header = r.header("authorization").cloned();
        if let Some(value) = auth_header {
            r.user_option_ignored = c.user.is_some();
            r.basic_from_header(&value);
        } else if let Some(user) = &c.user {
            if let Some(s) = &c.auth_scheme {
                r.other_auth = Some(s.clone());
            } else {
                r.basic = Some(basic_from_user(user));
            }
        } else if c.bearer.is_some() {
            r.other_auth = Some("Bearer (--oauth2-bearer)".into());
        }
        r
    }
}

/// Every argument that shapes the request.
fn all_args(c: &CurlCommand) -> impl Iterator<Item = &Arg> {
    c.urls
        .iter()
        .chain(&c.headers)
        .chain(c.data.iter().map(|d| &d.arg))
        .chain(&c.user)
        .chain(&c.json)
        .chain(&c.forms)
}

fn urlencode_piece(d: &crate::paste::curl::Data, r: &mut Request) {
    // curl: "content", "=content", "name=content", "@file", "name@file".
    let arg = &d.arg;
    let first_text = match arg.segs.first() {
        Some(Seg::Text(t)) => t.clone(),
        _ => String::new(),
    };
    let eq = first_text.find('=');
    let at = first_text.find('@');
    match (eq, at) {
        (_, Some(a)) if eq.is_none_or(|e| a < e) => {
            r.data_files.push(format!("{} {}", d.option, first_text));
            let name = &first_text[..a];
            if name.is_empty() {
                r.unseen.push(first_text.clone());
            }
            if !name.is_empty() {
                r.form.push(FormPair {
                    name: name.to_owned(),
                    raw: Arg::default(),
                    value: Arg {
                        segs: vec![Seg::Cmd(format!("@{}", &first_text[a + 1..]))],
                        ..Arg::default()
                    },
                    encoded: true,
                    orphan: false,
                    in_query: false,
                    multipart: false,
                });
            }
        }
        (Some(_), _) => {
            let Some((name, content)) = arg.split_once('=') else {
                return;
            };
            let name_text = name.display();
            let encoded = escape_arg(&content);
            if name_text.is_empty() {
                // "=content": the encoded content alone.
                pairs_of(&encoded, true, Some(&content), &mut r.form, &mut r.unseen);
            } else {
                r.form.push(FormPair {
                    name: name_text,
                    raw: encoded,
                    value: content,
                    encoded: true,
                    orphan: false,
                    in_query: false,
                    multipart: false,
                });
            }
        }
        _ => {
            // The whole content encoded, no name: the server sees one nameless piece.
            let encoded = escape_arg(arg);
            r.form.push(FormPair {
                name: encoded.display(),
                raw: Arg::default(),
                value: Arg::default(),
                encoded: true,
                orphan: true,
                in_query: false,
                multipart: false,
            });
        }
    }
}

fn basic_from_user(user: &Arg) -> Basic {
    let literal = !user.is_symbolic();
    let mut b = Basic {
        origin: BasicOrigin::UserOption,
        id: None,
        secret: None,
        problems: Vec::new(),
        encodes_newline: false,
        may_wrap: None,
        literal,
    };
    match user.split_once(':') {
        Some((id, secret)) => {
            b.id = Some(id);
            b.secret = Some(secret);
        }
        None => {
            b.id = Some(user.clone());
            b.problems.push(BasicProblem::NoColon);
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paste::curl;

    fn req(s: &str) -> Request {
        Request::from_curl(&curl::parse(s).unwrap())
    }

    #[test]
    fn data_pieces_join_and_decode() {
        let r = req("curl https://x/t -d grant_type=client_credentials -d 'scope=a+b' --data-urlencode 'client_secret=p+q&r'");
        assert_eq!(r.method, "POST");
        assert_eq!(r.body, BodyKind::Form);
        assert_eq!(r.param("scope").unwrap().literal().unwrap(), "a b");
        let s = r.params("client_secret").next().unwrap();
        assert_eq!(s.raw.literal().unwrap(), "p%2Bq%26r");
        assert_eq!(s.value.literal().unwrap(), "p+q&r");
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/x-www-form-urlencoded")
        );
    }

    #[test]
    fn user_option_is_raw_basic() {
        let r = req("curl -u 'id:se:cr%et' https://x/t");
        let b = r.basic.unwrap();
        assert_eq!(b.origin, BasicOrigin::UserOption);
        assert_eq!(b.secret.unwrap().literal().unwrap(), "se:cr%et");
        assert!(b.literal);
    }

    #[test]
    fn wrapped_header_is_detected() {
        let r = req(
            r#"curl https://x/t -H "Authorization: Basic $(echo -n '5a1c3a2e-1b2c-4d5e-8f90-123456789abc:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG' | base64)""#,
        );
        let b = r.basic.unwrap();
        assert_eq!(b.problems, vec![BasicProblem::Wrapped(Some(76))]);
        assert!(!b.encodes_newline);
        assert_eq!(
            b.secret.unwrap().literal().unwrap(),
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
        );
    }

    #[test]
    fn json_and_get() {
        assert_eq!(
            req("curl --json '{\"a\":1}' https://x").body,
            BodyKind::Json
        );
        assert_eq!(req("curl -d '{\"a\":1}' https://x").body, BodyKind::Json);
        let r = req("curl -G -d grant_type=client_credentials https://x");
        assert_eq!(r.method, "GET");
        assert!(r.form[0].in_query);
    }
}
