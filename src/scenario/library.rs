//! The shipped scenario library, embedded in the binary, and the fault presets drawn from it for the
//! dashboard's "arm a fault" control (`GET /__admin/faults/presets`).
//!
//! Owns only the list of files and the presets; loading and checking stay in `scenario/mod.rs`.

use serde::Serialize;

use super::Scenario;
use super::faults::{Effect, ErrorSpec, FaultSpec, Match, Preset, When};

/// Every file of `scenarios/` but the default (which is [`super::DEFAULT_YAML`]), by name. A unit
/// test checks this list against the directory, so a new file cannot be forgotten.
pub const LIBRARY: &[(&str, &str)] = &[
    (
        "app-uninstalled",
        include_str!("../../scenarios/app-uninstalled.yaml"),
    ),
    ("chaos", include_str!("../../scenarios/chaos.yaml")),
    (
        "code-reuse",
        include_str!("../../scenarios/code-reuse.yaml"),
    ),
    (
        "expired-code",
        include_str!("../../scenarios/expired-code.yaml"),
    ),
    ("flaky-5xx", include_str!("../../scenarios/flaky-5xx.yaml")),
    (
        "rate-limited",
        include_str!("../../scenarios/rate-limited.yaml"),
    ),
    (
        "refresh-revoked",
        include_str!("../../scenarios/refresh-revoked.yaml"),
    ),
    ("slow-wix", include_str!("../../scenarios/slow-wix.yaml")),
    (
        "state-mismatch",
        include_str!("../../scenarios/state-mismatch.yaml"),
    ),
    (
        "state-missing",
        include_str!("../../scenarios/state-missing.yaml"),
    ),
    (
        "token-expiry",
        include_str!("../../scenarios/token-expiry.yaml"),
    ),
];

/// A set of faults a person can arm with one click: `POST /__admin/faults` with `faults` as the body.
#[derive(Debug, Clone, Serialize)]
pub struct FaultPreset {
    /// `<scenario>` for all of a scenario's faults, `<scenario>/<fault>` for one, `error/<preset>`.
    pub id: String,
    /// Where it comes from: a scenario's name, or `error presets`.
    pub group: String,
    /// What it does, for people.
    pub description: String,
    /// The specs to post.
    pub faults: Vec<FaultSpec>,
}

/// The library's faults (each scenario's set, and each fault alone when there are several), then
/// every error preset once on the next non-admin request.
pub fn fault_presets() -> Vec<FaultPreset> {
    let mut out = Vec::new();
    for (name, text) in LIBRARY {
        // The files are checked by tests; a broken one is skipped rather than failing the dashboard.
        let Ok(scenario) = Scenario::parse(text, name) else {
            continue;
        };
        let faults: Vec<FaultSpec> = scenario.faults.iter().map(|f| f.value.clone()).collect();
        if faults.is_empty() {
            continue;
        }
        let parts: Vec<FaultPreset> = if faults.len() > 1 {
            faults
                .iter()
                .map(|f| {
                    let fault = f.name.clone().unwrap_or_default();
                    FaultPreset {
                        id: format!("{name}/{fault}"),
                        group: name.to_string(),
                        description: format!("only `{fault}` of {name}"),
                        faults: vec![f.clone()],
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        out.push(FaultPreset {
            id: name.to_string(),
            group: name.to_string(),
            description: scenario.description.clone().unwrap_or_default(),
            faults,
        });
        out.extend(parts);
    }
    let presets = [
        ("token_expired", Preset::TokenExpired, "401 TOKEN_EXPIRED"),
        (
            "permission_denied",
            Preset::PermissionDenied,
            "403 PERMISSION_DENIED",
        ),
        ("not_found", Preset::NotFound, "404 NOT_FOUND"),
        ("rate_limited", Preset::RateLimited, "429 with Retry-After"),
        ("internal", Preset::Internal, "500 with an empty body"),
        ("unavailable", Preset::Unavailable, "503 with Retry-After"),
        ("invalid_grant", Preset::InvalidGrant, "400 invalid_grant"),
    ];
    for (id, preset, what) in presets {
        out.push(FaultPreset {
            id: format!("error/{id}"),
            group: "error presets".into(),
            description: format!("the next request answers {what}"),
            faults: vec![FaultSpec {
                name: Some(format!("once-{id}")),
                matcher: Match::default(),
                when: When {
                    first: Some(1),
                    ..When::default()
                },
                effects: vec![Effect::Error(ErrorSpec {
                    preset: Some(preset),
                    ..ErrorSpec::default()
                })],
            }],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_lists_every_shipped_scenario_but_the_default() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".yaml").map(str::to_string)
            })
            .filter(|n| n != "default")
            .collect();
        on_disk.sort();
        let listed: Vec<String> = LIBRARY.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(listed, on_disk);
    }

    #[test]
    fn every_preset_is_a_valid_fault_and_sets_come_before_their_parts() {
        let presets = fault_presets();
        assert!(
            presets
                .iter()
                .any(|p| p.id == "flaky-5xx" && p.faults.len() == 2)
        );
        let set = presets.iter().position(|p| p.id == "flaky-5xx").unwrap();
        let part = presets
            .iter()
            .position(|p| p.id == "flaky-5xx/first-500")
            .unwrap();
        assert!(set < part);
        for p in &presets {
            for f in &p.faults {
                assert!(
                    super::super::faults::fault_problems(f).is_empty(),
                    "{}",
                    p.id
                );
            }
        }
    }
}
