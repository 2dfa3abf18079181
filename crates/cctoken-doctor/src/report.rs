//! Findings and the report: stable codes, severities, the human rendering grouped by
//! severity, and the JSON shape `{"findings":[{"code","severity","message","fix"}]}`, both
//! in the words of the caller's [`Wording`]. What a severity means for an exit status is
//! the caller's business.
//!
//! Codes are a contract (SPEC §8: extend, never rename). The §8 codes are listed in
//! [`SPEC_CODES`]; the others are this implementation's extensions for what §8 leaves
//! unnamed (parse errors, network checks, the server's verdict).

use std::fmt;

use crate::text::{Term, Text, Wording};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The request cannot work as it is.
    Error,
    /// It may work, but is fragile or unsafe.
    Warning,
    /// Worth knowing.
    Info,
}

impl Severity {
    /// `error`, `warning` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $s:literal, $sev:ident;)*) => {
        /// A stable finding code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code { $($(#[$doc])* $name,)* }

        impl Code {
            /// The stable spelling, e.g. `secret.trailing-newline`.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$name => $s,)* }
            }

            /// The usual severity (a check may choose another).
            pub fn default_severity(self) -> Severity {
                match self { $(Self::$name => Severity::$sev,)* }
            }

            /// Every code, §8's and the extensions.
            pub const ALL: &'static [Code] = &[$(Self::$name,)*];
        }
    };
}

codes! {
    /// Secret or Basic payload ends in a newline.
    SecretTrailingNewline = "secret.trailing-newline", Error;
    /// Leading/trailing spaces or tabs.
    SecretWhitespace = "secret.whitespace", Error;
    /// A placeholder instead of a secret.
    SecretPlaceholder = "secret.placeholder", Error;
    /// Value wrapped in literal quotes.
    SecretQuoted = "secret.quoted", Error;
    /// `basic` and `basic-raw` (or body encoding) differ for this secret.
    SecretEncodingSensitive = "secret.encoding-sensitive", Warning;
    /// Secret visible on a command line.
    SecretInArgv = "secret.in-argv", Warning;
    /// Client id does not look like the provider's ids.
    ClientIdFormat = "client-id.format", Error;
    /// Token request sent to the API host.
    EndpointApiHost = "endpoint.api-host", Error;
    /// Wrong token path.
    EndpointPath = "endpoint.path", Error;
    /// CXone credentials/paths on a Genesys host or the reverse.
    EndpointPlatformMismatch = "endpoint.platform-mismatch", Error;
    /// `http://` token URL.
    EndpointInsecure = "endpoint.insecure", Error;
    /// JSON body or JSON content type.
    BodyJson = "body.json", Error;
    /// Missing or wrong `grant_type`.
    ParamGrantType = "param.grant-type", Error;
    /// Parameters the grant does not define.
    ParamUnknown = "param.unknown", Warning;
    /// Comma-separated scopes or unencoded spaces.
    ParamScopeFormat = "param.scope-format", Warning;
    /// Credentials in both the header and the body.
    AuthBothMethods = "auth.both-methods", Error;
    /// Basic value not base64, no `:`, or line-wrapped.
    AuthBasicMalformed = "auth.basic-malformed", Error;
    /// No client authentication.
    AuthMissing = "auth.missing", Error;
    /// A variable that never expanded.
    ShellUnexpanded = "shell.unexpanded", Error;
    /// Asking for a long-lived token.
    TokenLongLived = "token.long-lived", Warning;
    /// Raw body value with characters that form decoding changes.
    ParamUnencoded = "param.unencoded", Error;
    /// `client_credentials` sent to CXone.
    CxoneClientCredentials = "cxone.client-credentials", Error;
    /// The server says `unauthorized_client`.
    GrantNotEnabled = "grant.not-enabled", Error;
    /// Server clock differs by more than 60 s.
    ClockSkew = "clock.skew", Warning;
    // --- extensions ---
    /// The input is not a readable curl command, or has no URL.
    CurlParse = "curl.parse", Error;
    /// `@file` data is named but not read.
    CurlDataFile = "curl.data-file", Info;
    /// curl options doctor does not model.
    CurlUnknownOption = "curl.unknown-option", Info;
    /// Token requests must be POST.
    RequestMethod = "request.method", Error;
    /// A multipart body.
    BodyMultipart = "body.multipart", Error;
    /// BOM, control character, invalid UTF-8 or empty secret.
    SecretControl = "secret.control", Error;
    /// Bearer, Digest or another scheme instead of client credentials.
    AuthOtherScheme = "auth.other-scheme", Error;
    /// The server answered `invalid_client`.
    AuthInvalidClient = "auth.invalid-client", Error;
    /// Result of trying another client authentication method.
    AuthProbe = "auth.probe", Warning;
    /// The profile does not resolve.
    ConfigInvalid = "config.invalid", Error;
    /// The token host does not resolve.
    NetDns = "net.dns", Error;
    /// TCP connection failed.
    NetConnect = "net.connect", Error;
    /// TLS handshake or certificate failed.
    NetTls = "net.tls", Error;
    /// Proxy variables in effect.
    NetProxy = "net.proxy", Info;
    /// Discovery result.
    Discovery = "discovery", Info;
    /// The token request failed for another reason.
    TokenRequest = "token.request", Error;
    /// A token was issued.
    TokenOk = "token.ok", Info;
    /// How the pasted command was read (Windows cmd, PowerShell) and that shell's traps.
    ShellDialect = "shell.dialect", Info;
    /// A Genesys host built from a region name, or on no region's domain.
    EndpointRegionHost = "endpoint.region-host", Error;
    // --- SPEC §14 (client assertions and certificates) ---
    /// The assertion's `aud` is not the issuer (or is the token endpoint, or several values).
    AssertionAud = "assertion.aud", Error;
    /// The assertion is expired or not yet valid, by this machine's clock or the server's.
    AssertionExpired = "assertion.expired", Error;
    /// The assertion lives longer than the server or vendor allows.
    AssertionLifetime = "assertion.lifetime", Error;
    /// The assertion's `kid` is not among the client's keys.
    AssertionKid = "assertion.kid", Error;
    /// The assertion's `alg` does not fit the key or the server.
    AssertionAlg = "assertion.alg", Error;
    /// `iss` or `sub` differs from the client id (or a required claim is missing).
    AssertionClaims = "assertion.claims", Error;
    /// The client certificate is not the registered one.
    CertMismatch = "cert.mismatch", Error;
    /// The client certificate expired.
    CertExpired = "cert.expired", Error;
    /// The client authentication method is not in `token_endpoint_auth_methods_supported`.
    AuthMethodUnsupported = "auth.method-unsupported", Error;
    // --- extensions for assertions ---
    /// The assertion's header and claims, decoded (signature elided).
    AssertionDecoded = "assertion.decoded", Info;
    /// The assertion is not a readable JWT.
    AssertionMalformed = "assertion.malformed", Error;
    /// The assertion has no usable `jti`, or the server saw it before.
    AssertionJti = "assertion.jti", Error;
    /// The assertion's `typ` header.
    AssertionTyp = "assertion.typ", Info;
    /// `client_assertion_type` missing or wrong.
    ParamAssertionType = "param.assertion-type", Error;
    /// A key file doctor cannot read as a key.
    AssertionKey = "assertion.key", Error;
    /// The server says the assertion's signature does not verify (online).
    AssertionSignature = "assertion.signature", Error;
    /// The client authenticates with a TLS client certificate (RFC 8705).
    AuthTlsClient = "auth.tls-client", Info;
}

/// The codes SPEC §8 defines.
pub const SPEC_CODES: &[&str] = &[
    "secret.trailing-newline",
    "secret.whitespace",
    "secret.placeholder",
    "secret.quoted",
    "secret.encoding-sensitive",
    "secret.in-argv",
    "client-id.format",
    "endpoint.api-host",
    "endpoint.path",
    "endpoint.platform-mismatch",
    "endpoint.insecure",
    "body.json",
    "param.grant-type",
    "param.unknown",
    "param.scope-format",
    "auth.both-methods",
    "auth.basic-malformed",
    "auth.missing",
    "shell.unexpanded",
    "token.long-lived",
    "param.unencoded",
    "cxone.client-credentials",
    "grant.not-enabled",
    "clock.skew",
];

/// The codes SPEC §14 adds for client assertions and certificates.
pub const SPEC14_CODES: &[&str] = &[
    "assertion.aud",
    "assertion.expired",
    "assertion.lifetime",
    "assertion.kid",
    "assertion.alg",
    "assertion.claims",
    "cert.mismatch",
    "cert.expired",
    "auth.method-unsupported",
];

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable code.
    pub code: Code,
    /// Severity.
    pub severity: Severity,
    /// What is wrong, in one line (never a secret).
    pub message: Text,
    /// What to do, concretely.
    pub fix: Text,
}

impl Finding {
    /// A finding with the code's usual severity.
    pub fn new(code: Code, message: impl Into<Text>, fix: impl Into<Text>) -> Self {
        Self {
            code,
            severity: code.default_severity(),
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// The same finding with another severity.
    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = s;
        self
    }

    /// What the finding refers the user to, message then fix (see [`Term`]).
    pub fn terms(&self) -> impl Iterator<Item = &Term> {
        self.message.terms().chain(self.fix.terms())
    }
}

/// All findings of one run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    findings: Vec<Finding>,
}

impl Report {
    /// Add a finding (an identical one is not repeated).
    pub fn push(&mut self, f: Finding) {
        if !self.findings.contains(&f) {
            self.findings.push(f);
        }
    }

    /// Add several findings.
    pub fn extend(&mut self, other: Report) {
        for f in other.findings {
            self.push(f);
        }
    }

    /// Findings, most severe first (stable within a severity).
    pub fn findings(&self) -> Vec<&Finding> {
        let mut v: Vec<&Finding> = self.findings.iter().collect();
        v.sort_by_key(|f| f.severity);
        v
    }

    /// Lower the findings of `code` that are more severe than `to`, saying why in their
    /// message (e.g. a format heuristic the server's verdict outranks).
    pub(crate) fn relax(&mut self, code: Code, to: Severity, why: &str) {
        for f in self.findings.iter_mut() {
            if f.code == code && f.severity < to {
                f.severity = to;
                f.message = std::mem::take(&mut f.message) + why;
            }
        }
    }

    /// Keep only the findings `keep` accepts.
    pub(crate) fn retain(&mut self, keep: impl FnMut(&Finding) -> bool) {
        self.findings.retain(keep);
    }

    /// The distinct codes present.
    pub fn codes(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = Vec::new();
        for f in self.findings() {
            if !v.contains(&f.code.as_str()) {
                v.push(f.code.as_str());
            }
        }
        v
    }

    /// The most severe finding of `code`, if any.
    pub fn finding(&self, code: Code) -> Option<&Finding> {
        self.findings().into_iter().find(|f| f.code == code)
    }

    /// True when `code` is present.
    pub fn has(&self, code: Code) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }

    /// True when any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The report for humans: grouped by severity, each finding with its fix.
    pub fn render_human(&self, wording: &dyn Wording) -> String {
        let count = |s| self.findings.iter().filter(|f| f.severity == s).count();
        let (e, w, i) = (
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info),
        );
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("{n} {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        let mut out = String::new();
        for (sev, title) in [
            (Severity::Error, "Errors"),
            (Severity::Warning, "Warnings"),
            (Severity::Info, "Info"),
        ] {
            let group: Vec<&Finding> = self.findings.iter().filter(|f| f.severity == sev).collect();
            if group.is_empty() {
                continue;
            }
            out.push_str(title);
            out.push('\n');
            for f in group {
                out.push_str(&format!("  [{}] {}\n", f.code, f.message.render(wording)));
                out.push_str(&format!("      fix: {}\n", f.fix.render(wording)));
            }
            out.push('\n');
        }
        let verdict = if e > 0 {
            "the request cannot work as it is"
        } else if w > 0 {
            "no errors found"
        } else {
            "no problems found"
        };
        out.push_str(&format!(
            "doctor: {}, {}, {} — {verdict}\n",
            plural(e, "error"),
            plural(w, "warning"),
            plural(i, "note")
        ));
        out
    }

    /// `{"findings":[{"code","severity","message","fix"}…]}`, pretty-printed with the keys in
    /// that order (the order a human reads them in).
    pub fn to_json_pretty(&self, wording: &dyn Wording) -> String {
        #[derive(serde::Serialize)]
        struct Out {
            findings: Vec<Item>,
        }
        #[derive(serde::Serialize)]
        struct Item {
            code: &'static str,
            severity: &'static str,
            message: String,
            fix: String,
        }
        let out = Out {
            findings: self
                .findings()
                .into_iter()
                .map(|f| Item {
                    code: f.code.as_str(),
                    severity: f.severity.as_str(),
                    message: f.message.render(wording),
                    fix: f.fix.render(wording),
                })
                .collect(),
        };
        // Infallible: plain strings in plain structs always serialize.
        serde_json::to_string_pretty(&out).unwrap_or_default()
    }

    /// `{"findings":[{"code","severity","message","fix"}…]}` as a JSON value.
    pub fn to_json(&self, wording: &dyn Wording) -> serde_json::Value {
        serde_json::json!({
            "findings": self.findings().iter().map(|f| serde_json::json!({
                "code": f.code.as_str(),
                "severity": f.severity.as_str(),
                "message": f.message.render(wording),
                "fix": f.fix.render(wording),
            })).collect::<Vec<_>>()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::Plain;

    #[test]
    fn spec_codes_all_exist_in_the_enum() {
        for s in SPEC_CODES {
            assert!(Code::ALL.iter().any(|c| c.as_str() == *s), "{s}");
        }
        assert_eq!(SPEC_CODES.len(), 24);
        for s in SPEC14_CODES {
            assert!(Code::ALL.iter().any(|c| c.as_str() == *s), "{s}");
        }
    }

    #[test]
    fn every_code_is_in_the_crate_docs_table() {
        let docs = include_str!("lib.rs");
        for c in Code::ALL {
            assert!(
                docs.contains(&format!("//! | `{c}` | ")),
                "{c} is missing from the table in lib.rs"
            );
        }
    }

    #[test]
    fn every_code_is_in_the_readme() {
        let readme = include_str!("../../../README.md");
        for c in Code::ALL {
            assert!(
                readme.contains(&format!("`{c}`")),
                "{c} is missing from README.md"
            );
        }
    }

    #[test]
    fn json_shape_and_errors() {
        let mut r = Report::default();
        assert!(!r.has_errors());
        r.push(Finding::new(Code::SecretInArgv, "m", "f"));
        assert!(!r.has_errors());
        r.push(Finding::new(Code::BodyJson, "m2", "f2"));
        r.push(Finding::new(Code::BodyJson, "m2", "f2"));
        assert!(r.has_errors());
        let j = r.to_json(&Plain);
        let f = j["findings"].as_array().unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0]["code"], "body.json");
        assert_eq!(f[0]["severity"], "error");
        assert!(r
            .render_human(&Plain)
            .starts_with("Errors\n  [body.json] m2\n      fix: f2\n"));
    }
}
