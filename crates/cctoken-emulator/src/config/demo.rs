//! The fixed demo clients of SPEC §10 (`--demo`): ids, secrets and the entries built from
//! them. Scripts and checks rely on these exact values; nothing else lives here.

use super::{AccessKey, ClientEntry, Flavor};

/// The demo client of the fixed contract (SPEC §10).
pub const DEMO_CLIENT_ID: &str = "demo-client";
/// The demo client's secret: `+ / = % &` are where `basic` and `basic-raw` differ.
pub const DEMO_SECRET: &str = "demo+s3cret/=%&";
/// The demo client without the client-credentials grant.
pub const DEMO_NOGRANT_ID: &str = "demo-nogrant";
/// CXone demo app id.
pub const CXONE_DEMO_APP: &str = "demo-app";
/// CXone demo app secret.
pub const CXONE_DEMO_APP_SECRET: &str = "demo-app-secret";
/// CXone demo access key id.
pub const CXONE_DEMO_KEY_ID: &str = "DEMOACCESSKEY";
/// CXone demo access key secret.
pub const CXONE_DEMO_KEY_SECRET: &str = "demo/access+key====";
/// CXone demo tenant.
pub const CXONE_DEMO_TENANT: &str = "11111111-2222-3333-4444-555555555555";
/// CXone demo area.
pub const CXONE_DEMO_AREA: &str = "na1";

/// The fixed demo clients of SPEC §10 for `flavor`.
pub fn demo_clients(flavor: Flavor) -> Vec<ClientEntry> {
    match flavor {
        Flavor::Generic | Flavor::Genesys => vec![
            ClientEntry::new(DEMO_CLIENT_ID, DEMO_SECRET).with_scopes(&["read", "write"]),
            ClientEntry::new(DEMO_NOGRANT_ID, DEMO_SECRET)
                .with_grants(&["authorization_code"])
                .with_scopes(&["read", "write"]),
        ],
        Flavor::Cxone => {
            let mut app = ClientEntry::new(CXONE_DEMO_APP, CXONE_DEMO_APP_SECRET)
                .with_grants(&["password", "refresh_token"]);
            app.access_keys = vec![AccessKey {
                id: CXONE_DEMO_KEY_ID.into(),
                secret: CXONE_DEMO_KEY_SECRET.into(),
            }];
            app.tenant_id = Some(CXONE_DEMO_TENANT.into());
            app.area = Some(CXONE_DEMO_AREA.into());
            vec![app]
        }
    }
}
