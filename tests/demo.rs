//! `wutt-campaign demo` on a machine set up for the live API: it must ignore
//! those settings, run entirely against its in-process simulator and walk
//! through the templates, the sends and the refused cases.

mod support;

use support::run_bin;

#[tokio::test]
async fn the_demo_ignores_live_settings_and_walks_through_the_api() {
    let live = [
        ("WUTT_BASE_URL", "https://www.wutt.net/external-api"),
        ("WUTT_CLIENT_ID", "live-client-id"),
        ("WUTT_CLIENT_SECRET", "live-secret-never-used"),
    ];
    let out = run_bin(&["demo"], &live).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}\n{stdout}\n{stderr}", out.status);

    assert!(
        stdout.contains("built-in simulator at http://127.0.0.1:"),
        "{stdout}"
    );
    for line in [
        "== Templates of the account",
        "| 1  | welcome",
        "| 4  | promo_draft  | MARKETING | pending",
        "== Send approved template 1 to +8801988123456",
        "== Send a text message to +8801988123456",
        "== Refused: template 4 is not approved yet",
        "account refused (HTTP 422) template_not_approved",
        "== Refused: +8801711000001 is a blocked contact",
        "rejected (HTTP 422) blocked_contact: This contact is blocked",
        "=> rejected for this recipient",
        "== Refused: a wrong client secret",
        "account refused (HTTP 401) Unauthorized: Invalid client credentials",
        "a campaign would be paused",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
    // Both sends got through, after any retries the faults caused.
    assert_eq!(
        stdout
            .matches("=> sent: the recipient would be marked sent")
            .count(),
        2,
        "{stdout}"
    );
    assert!(stdout.contains("[message id sim-1]"), "{stdout}");
    assert!(stdout.contains("[message id sim-2]"), "{stdout}");
    let all = format!("{stdout}{stderr}");
    assert!(
        !all.contains("wutt.net"),
        "the live API was mentioned:\n{all}"
    );
    assert!(!all.contains("live-secret-never-used"), "{all}");
}
