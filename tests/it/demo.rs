//! `wutt-campaign demo` on a machine set up for the live API: it must ignore
//! those settings, run entirely against its in-process simulator and walk
//! through the templates, the sends and the refused cases.

use crate::support::bin::run_bin;

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
        "| 1  | welcome              | approved",
        "| 4  | promo_draft          | pending",
        "| 42 | thank_you            | approved",
        "== Send approved template 1 to +8801988123456",
        "success (HTTP 200) exception: Undefined variable $conversationId",
        "== Send template 6 with its two body variables to +8801988123456",
        "== Send a text message to +8801988123456 (a contact)",
        "== Refused: a text to +8801712999888, who is not a contact",
        "rejected (HTTP 200) exception: Attempt to read property \"mobileNumber\" on null",
        "== Refused: template 4 is not approved yet",
        "campaign refused (HTTP 200) not_found: The template is not found",
        "== Refused: +8801711000001 is a blocked contact",
        "=> rejected for this recipient",
        "== Refused: a wrong client secret",
        "account refused (HTTP 401) Unauthorized: Invalid credentials",
        "every campaign would be paused",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
    // The three sends got through, after any retries the faults caused.
    assert_eq!(stdout.matches("=> sent: the ").count(), 3, "{stdout}");
    assert!(stdout.contains("[message id wamid.sim-"), "{stdout}");
    assert!(stdout.contains("sent 33, failed 0, unknown 0"), "{stdout}");
    let all = format!("{stdout}{stderr}");
    assert!(
        !all.contains("wutt.net"),
        "the live API was mentioned:\n{all}"
    );
    assert!(!all.contains("live-secret-never-used"), "{all}");
}
