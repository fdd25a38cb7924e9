use ocomms_proto::auth::v1 as pb;
use svc_auth::totp;

use crate::helpers::{app, authed, sign_in_req, sign_up_req};

const PW: &str = "correct horse battery";

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs()
}

fn code(secret: &[u8], steps_ahead: u64) -> String {
    format!("{:06}", totp::code_at_step(secret, now() / totp::STEP_SECS + steps_ahead))
}

#[tokio::test(flavor = "multi_thread")]
async fn totp_protects_sign_in_once_verified() {
    let mut app = app().await;
    let r = app.client.sign_up(sign_up_req("tia@example.com", PW)).await.expect("sign up").into_inner();
    let tok = r.token;
    let err = app
        .client
        .enable_two_factor(authed(&tok, pb::EnableTwoFactorRequest { password: "wrong password!!".into() }))
        .await
        .expect_err("pw");
    assert_eq!(code_of(&err), "VALIDATION_ERROR");
    let setup =
        app.client.enable_two_factor(authed(&tok, pb::EnableTwoFactorRequest { password: PW.into() })).await.expect("enable").into_inner();
    assert_eq!(setup.backup_codes.len(), 10);
    assert!(setup.otpauth_url.starts_with("otpauth://totp/OComms:") && setup.otpauth_url.contains(&setup.secret));
    let secret = totp::base32_decode(&setup.secret).expect("base32");

    // Pending until a code verifies: sign-in needs no code yet.
    app.client.sign_in(sign_in_req("tia@example.com", PW)).await.expect("no code needed yet");
    let err = app.client.verify_two_factor(authed(&tok, pb::VerifyTwoFactorRequest { code: "000000".into() })).await.expect_err("wrong");
    assert_eq!(code_of(&err), "VALIDATION_ERROR");
    let used = code(&secret, 0);
    app.client.verify_two_factor(authed(&tok, pb::VerifyTwoFactorRequest { code: used.clone() })).await.expect("verify");

    // Now sign-in asks for the code.
    let err = app.client.sign_in(sign_in_req("tia@example.com", PW)).await.expect_err("code required");
    let e = ocomms_runtime::ServiceError::from_status(&err);
    assert_eq!(e.code.as_str(), "UNAUTHORIZED");
    assert_eq!(e.details.expect("details")["twoFactorRequired"], true);
    let with = |c: &str| pb::SignInRequest {
        email: "tia@example.com".into(),
        password: PW.into(),
        totp_code: Some(c.into()),
        ..Default::default()
    };
    let err = app.client.sign_in(with(&used)).await.expect_err("a code works once");
    assert_eq!(code_of(&err), "UNAUTHORIZED");
    app.client.sign_in(with(&code(&secret, 1))).await.expect("next code");
    // Backup codes work once each.
    let backup = setup.backup_codes[0].to_uppercase();
    app.client.sign_in(with(&backup)).await.expect("backup code");
    assert_eq!(code_of(&app.client.sign_in(with(&backup)).await.expect_err("spent")), "UNAUTHORIZED");
    // Cannot set up again while on; disabling needs the password.
    let err = app.client.enable_two_factor(authed(&tok, pb::EnableTwoFactorRequest { password: PW.into() })).await.expect_err("on");
    assert_eq!(code_of(&err), "CONFLICT");
    app.client.disable_two_factor(authed(&tok, pb::DisableTwoFactorRequest { password: PW.into() })).await.expect("disable");
    app.client.sign_in(sign_in_req("tia@example.com", PW)).await.expect("no code needed any more");
}

fn code_of(s: &tonic::Status) -> String {
    crate::helpers::code(s)
}
