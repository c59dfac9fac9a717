//! The documents' endpoint tables are generated from the one endpoint table (`src/endpoints.rs`): this
//! fails when they disagree. The Wix surface is in docs/endpoints.md, the admin API in
//! docs/admin-api.md (both were in the README until issue 17 moved the reference under `docs/`).
//! `UPDATE_README=1 cargo test --test api readme` rewrites them.

use wix_oauth_mock::endpoints;

/// Replaces what stands between `<!-- endpoints:NAME ... -->` and the next `<!-- /endpoints -->`.
fn with_table(readme: &str, name: &str, table: &str) -> String {
    let open = format!("<!-- endpoints:{name} ");
    let start = readme
        .find(&open)
        .expect("the document has the table's marker");
    let body = start + readme[start..].find("-->\n").expect("the marker closes") + 4;
    let end = body
        + readme[body..]
            .find("<!-- /endpoints -->")
            .expect("an end marker");
    format!("{}{}{}", &readme[..body], table, &readme[end..])
}

#[test]
fn the_documents_endpoint_tables_are_the_endpoint_table() {
    for (file, name, admin) in [
        ("docs/endpoints.md", "wix", false),
        ("docs/admin-api.md", "admin", true),
    ] {
        // Arrange
        let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
        let doc = std::fs::read_to_string(&path).expect(file);

        // Act
        let wanted = with_table(&doc, name, &endpoints::markdown(admin));

        // Assert
        if std::env::var_os("UPDATE_README").is_some() {
            std::fs::write(&path, &wanted).expect("the document is writable");
        } else {
            assert!(
                doc == wanted,
                "{file}'s endpoint table differs from src/endpoints.rs; run UPDATE_README=1 cargo test --test api readme"
            );
        }
    }
}

#[test]
fn the_scenario_formats_list_of_endpoint_names_is_every_name_a_fault_may_use() {
    // Arrange: the first column of the table under "**Endpoint names**" in scenarios/README.md.
    let path = format!("{}/scenarios/README.md", env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(&path).expect("scenarios/README.md");
    let from = doc.find("**Endpoint names**").expect("the list's heading");
    let listed: Vec<&str> = doc[from..]
        .lines()
        .skip_while(|l| !l.starts_with("| name |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.split('`').nth(1))
        .collect();

    // Act: the names scenario files are read with (`any` and the endpoint table's fault names).
    let known = wix_oauth_mock::scenario::faults::Endpoint::names();

    // Assert
    assert_eq!(
        listed, known,
        "scenarios/README.md's endpoint names differ from src/endpoints.rs's fault names"
    );
}
