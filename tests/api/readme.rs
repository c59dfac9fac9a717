//! The README's endpoint tables are generated from the one endpoint table (`src/endpoints.rs`): this
//! fails when they disagree. `UPDATE_README=1 cargo test --test api readme` rewrites them.

use wix_oauth_mock::endpoints;

/// Replaces what stands between `<!-- endpoints:NAME ... -->` and the next `<!-- /endpoints -->`.
fn with_table(readme: &str, name: &str, table: &str) -> String {
    let open = format!("<!-- endpoints:{name} ");
    let start = readme
        .find(&open)
        .expect("the README has the table's marker");
    let body = start + readme[start..].find("-->\n").expect("the marker closes") + 4;
    let end = body
        + readme[body..]
            .find("<!-- /endpoints -->")
            .expect("an end marker");
    format!("{}{}{}", &readme[..body], table, &readme[end..])
}

#[test]
fn the_readme_endpoint_tables_are_the_endpoint_table() {
    // Arrange
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).expect("README.md");

    // Act
    let wanted = with_table(&readme, "wix", &endpoints::markdown(false));
    let wanted = with_table(&wanted, "admin", &endpoints::markdown(true));

    // Assert
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(path, &wanted).expect("README.md is writable");
    } else {
        assert!(
            readme == wanted,
            "README.md's endpoint tables differ from src/endpoints.rs; run UPDATE_README=1 cargo test --test api readme"
        );
    }
}
