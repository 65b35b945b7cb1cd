//! `[[import_kernel]]` on a real kernel, in a fresh network namespace (the
//! test re-executes itself under `unshare -n`; needs root): routes appear in
//! and leave the imported set as `ip route` adds and deletes them.

use std::collections::BTreeSet;
use std::time::Duration;

use ipnetwork::IpNetwork;
use tokio::sync::mpsc;

use crate::kernel::import::{ImportFilter, spawn_importer};

use super::namespace::{in_namespace, ip};

async fn next_set(receiver: &mut mpsc::UnboundedReceiver<BTreeSet<IpNetwork>>) -> Vec<String> {
    let set = tokio::time::timeout(Duration::from_secs(10), receiver.recv())
        .await
        .expect("the importer reports within 10 s")
        .expect("the importer is running");
    set.iter().map(ToString::to_string).collect()
}

#[test]
fn static_routes_are_imported_and_withdrawn_as_they_come_and_go() {
    in_namespace(
        "kernel::tests::import::static_routes_are_imported_and_withdrawn_as_they_come_and_go",
        || async {
            ip("route add 198.19.200.1/32 via 198.18.0.2 proto static");
            let config = config::Config::from_str(
                r#"
[router]
asn = 64512
router_id = "198.18.0.1"

[[originate]]
prefix = "198.19.1.0/24"

[[import_kernel]]
prefixes = [{ prefix = "198.19.0.0/16", ge = 32, le = 32 }]
protocols = ["static"]
"#,
                "test.toml",
            )
            .unwrap();
            let (sender, mut receiver) = mpsc::unbounded_channel();
            let _importer = spawn_importer(ImportFilter::from_config(&config), sender).unwrap();
            assert_eq!(
                next_set(&mut receiver).await,
                vec!["198.19.200.1/32"],
                "found at start"
            );

            ip("route add 198.19.200.2/32 via 198.18.0.2 proto static");
            assert_eq!(
                next_set(&mut receiver).await,
                vec!["198.19.200.1/32", "198.19.200.2/32"]
            );

            // Inside the host's own block, and of another protocol: ignored.
            ip("route add 198.19.1.9/32 via 198.18.0.2 proto static");
            ip("route add 198.19.200.3/32 via 198.18.0.2 proto boot");
            ip("route del 198.19.200.1/32");
            assert_eq!(
                next_set(&mut receiver).await,
                vec!["198.19.200.2/32"],
                "deleted, and nothing else added"
            );
        },
    );
}
