use super::*;

fn ring_pkcs8_p256() -> Vec<u8> {
    let rng = SystemRandom::new();
    sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .unwrap()
        .as_ref()
        .to_vec()
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::engine::general_purpose::STANDARD;
    let b = STANDARD.encode(der);
    let lines: Vec<&str> = b
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

#[test]
fn pkcs8_ec_key_signs_and_verifies() {
    let der = ring_pkcs8_p256();
    let k = SigningKey::from_text(pem("PRIVATE KEY", &der).as_bytes()).unwrap();
    assert_eq!((k.kind(), k.default_alg()), ("EC P-256", Alg::Es256));
    assert!(k.fits(Alg::Es256) && !k.fits(Alg::Rs256) && !k.fits(Alg::Hs256));
    let s = k.sign(Alg::Es256, b"msg").unwrap();
    let jwk = k.public_jwk(Some("k1"));
    let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
    let y = URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap();
    let mut point = vec![4u8];
    point.extend(x);
    point.extend(y);
    sig::UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point)
        .verify(b"msg", &s)
        .unwrap();
    assert!(k.sign(Alg::Rs256, b"msg").is_err());
    assert_eq!(jwk["kid"], "k1");
    let dbg = format!("{k:?}");
    assert!(
        dbg.contains(k.thumbprint()) && !dbg.contains("PRIVATE"),
        "{dbg}"
    );
}

#[test]
fn sec1_is_wrapped_for_ring() {
    // A PKCS#8 P-256 key from ring holds the SEC1 ECPrivateKey at a fixed offset:
    // SEQ { INT 0, SEQ { 2 OIDs }, OCTET STRING { ECPrivateKey } }.
    let der = ring_pkcs8_p256();
    // The OCTET STRING right after the curve OID holds the SEC1 ECPrivateKey.
    let octet = der
        .windows(P256_OID.len())
        .position(|w| w == P256_OID)
        .unwrap()
        + P256_OID.len();
    assert_eq!(der[octet], 0x04);
    let (len, hdr) = if der[octet + 1] & 0x80 == 0 {
        (der[octet + 1] as usize, 2)
    } else {
        (der[octet + 2] as usize, 3)
    };
    let sec1 = &der[octet + hdr..octet + hdr + len];
    let k = SigningKey::from_text(pem("EC PRIVATE KEY", sec1).as_bytes()).unwrap();
    let k8 = SigningKey::from_text(pem("PRIVATE KEY", &der).as_bytes()).unwrap();
    assert_eq!(k.thumbprint(), k8.thumbprint());
}

#[test]
fn ed25519_pkcs8_signs_and_a_public_jwk_is_refused() {
    let rng = SystemRandom::new();
    let der = sig::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let k = SigningKey::from_text(pem("PRIVATE KEY", der.as_ref()).as_bytes()).unwrap();
    assert_eq!((k.kind(), k.default_alg()), ("Ed25519", Alg::EdDsa));
    let s = k.sign(Alg::EdDsa, b"msg").unwrap();
    let public = k.public_jwk(Some("k9"));
    assert!(public.get("d").is_none());
    let x = URL_SAFE_NO_PAD
        .decode(public["x"].as_str().unwrap())
        .unwrap();
    sig::UnparsedPublicKey::new(&sig::ED25519, x)
        .verify(b"msg", &s)
        .unwrap();
    let e = SigningKey::from_text(public.to_string().as_bytes()).unwrap_err();
    assert!(e.to_string().contains("public key"), "{e}");
}

/// RSA keys need `openssl` to be made (ring cannot generate them): PKCS#8 and PKCS#1 PEM,
/// RS256 and PS256. Skipped loudly without openssl.
#[test]
fn rsa_pkcs8_and_pkcs1() {
    let run = |args: &[&str], input: Option<&[u8]>| -> Option<Vec<u8>> {
        use std::io::Write as _;
        let mut c = std::process::Command::new("openssl")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        if let Some(i) = input {
            c.stdin.take()?.write_all(i).ok()?;
        } else {
            drop(c.stdin.take());
        }
        let o = c.wait_with_output().ok()?;
        o.status.success().then_some(o.stdout)
    };
    let Some(pkcs8) = run(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ],
        None,
    ) else {
        eprintln!("!!! SKIPPING RSA key tests: openssl unavailable");
        return;
    };
    let pkcs1 = run(&["rsa", "-traditional"], Some(&pkcs8)).expect("openssl rsa -traditional");
    assert!(String::from_utf8_lossy(&pkcs1).contains("BEGIN RSA PRIVATE KEY"));
    let a = SigningKey::from_text(&pkcs8).unwrap();
    let b = SigningKey::from_text(&pkcs1).unwrap();
    assert_eq!(a.thumbprint(), b.thumbprint());
    assert_eq!((a.kind(), a.default_alg()), ("RSA", Alg::Rs256));
    let jwk = a.public_jwk(None);
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    let public = sig::RsaPublicKeyComponents { n: &n, e: &e };
    for (alg, params) in [
        (Alg::Rs256, &sig::RSA_PKCS1_2048_8192_SHA256),
        (Alg::Ps256, &sig::RSA_PSS_2048_8192_SHA256),
    ] {
        let s = b.sign(alg, b"msg").unwrap();
        public.verify(params, b"msg", &s).unwrap();
    }
}

#[test]
fn ec_private_jwk_with_kid() {
    let der = ring_pkcs8_p256();
    let k = SigningKey::from_text(pem("PRIVATE KEY", &der).as_bytes()).unwrap();
    // Recover d from the SEC1 part: OCTET STRING of 32 bytes right after `02 01 01 04 20`.
    let pos = der
        .windows(5)
        .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
        .unwrap()
        + 5;
    let d = &der[pos..pos + 32];
    let mut jwk = k.public_jwk(Some("from-jwk"));
    jwk["d"] = URL_SAFE_NO_PAD.encode(d).into();
    let set = json!({ "keys": [jwk] });
    let j = SigningKey::from_text(set.to_string().as_bytes()).unwrap();
    assert_eq!(j.thumbprint(), k.thumbprint());
    assert_eq!(j.jwk_kid(), Some("from-jwk"));
}

#[test]
fn thumbprint_matches_rfc_7638_example() {
    // RFC 7638 §3.1.
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"
    });
    assert_eq!(
        jwk_thumbprint(&jwk),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn garbage_is_a_clear_error_without_the_bytes() {
    let e = SigningKey::from_text(
        b"-----BEGIN PRIVATE KEY-----\nQ0FOQVJZ\n-----END PRIVATE KEY-----\n",
    )
    .unwrap_err()
    .to_string();
    assert!(!e.contains("Q0FOQVJZ"), "{e}");
    assert!(SigningKey::from_text(b"hello").is_err());
    assert!("ES512".parse::<Alg>().is_err());
    assert_eq!("Ed25519".parse::<Alg>().unwrap(), Alg::EdDsa);
    assert!(Alg::EdDsa.is_named("Ed25519"));
}

#[test]
fn files_that_hold_no_usable_private_key_say_what_they_hold() {
    let err = |text: &str| {
        SigningKey::from_text(text.as_bytes())
            .unwrap_err()
            .to_string()
    };
    let block = |label: &str| format!("-----BEGIN {label}-----\nQ0FOQVJZ\n-----END {label}-----\n");
    for (text, says) in [
        (
            block("ENCRYPTED PRIVATE KEY"),
            "encrypted with a passphrase",
        ),
        (block("PUBLIC KEY"), "holds a public key"),
        (block("CERTIFICATE"), "holds a certificate"),
        (block("OPENSSH PRIVATE KEY"), "OpenSSH's format"),
        ("my-host\n".to_owned(), "no PEM block"),
    ] {
        let e = err(&text);
        assert!(e.contains(says), "{e}");
        assert!(!e.contains("Q0FOQVJZ"), "{e}");
    }
}
