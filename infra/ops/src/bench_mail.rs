//! `rylie-ops bench mail`: a whole SES event to committed leads, in-process, against the
//! database given and S3 (moto, or whatever AWS_ENDPOINT_URL points at): per mail, the
//! handler's time end to end, the S3 read alone, and the difference — what the target
//! "under 20 ms per mail excluding S3 latency" is about.

use std::time::{Duration, Instant};

use rylie_app::{BoxError, Config, State, mail::inbound};
use rylie_cloud::BlobStore;
use rylie_store::{ConnectSettings, Type};
use serde_json::Value;

use crate::bench::summary;

/// A typical lead mail: multipart/alternative, the ADF in both parts (as Gmail-built
/// provider mail is), a wanted car and a trade-in.
fn lead_mail(run: i64, n: usize) -> String {
    let adf = format!(
        r#"<?xml version="1.0"?><?adf version="1.0"?>
<adf><prospect status="new"><id sequence="1" source="BenchLeads">BL-{run}-{n}</id>
<requestdate>2026-11-25T09:02:11-05:00</requestdate>
<vehicle interest="buy" status="used"><year>2022</year><make>Toyota</make><model>Camry</model><trim>SE</trim>
<vin>4T1G11AK5NU{n:06}</vin><stock>T{n}</stock><price type="asking" currency="USD">24995</price></vehicle>
<vehicle interest="trade-in" status="used"><year>2015</year><make>Honda</make><model>Civic</model>
<odometer status="original" units="mi">98000</odometer></vehicle>
<customer><contact><name part="first">Pat</name><name part="last">Bench{n}</name>
<email>pat.bench{n}@example.com</email><phone type="cellphone">(312) 555-{:04}</phone></contact>
<comments>Is the Camry still available? Saturday works.</comments></customer>
<vendor><vendorname>Bench Motors</vendorname></vendor>
<provider><name part="full">BenchLeads</name></provider></prospect></adf>"#,
        n % 10_000
    );
    let html = adf.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    format!(
        "From: BenchLeads <leads@benchleads.example>\r\nTo: leads+bench-mail@in.rylie.test\r\n\
         Subject: New lead {n}\r\nMessage-ID: <bench-{n}@benchleads.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n\
         --alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{adf}\r\n\
         --alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><pre>{html}</pre></body></html>\r\n--alt--\r\n"
    )
}

pub async fn run(database_url: &str, mails: usize) -> Result<(), BoxError> {
    let settings = ConnectSettings::from_url(database_url)?;
    let owner = settings.connect().await?;
    owner
        .batch_execute("SELECT set_config('rylie.scope', 'platform', false)")
        .await?;
    let run_id = chrono::Utc::now().timestamp();
    owner
        .query_typed(
            "INSERT INTO dealerships (name, subdomain, first_contact) VALUES ('Bench Mail Motors', 'bench-mail', 'none')
             ON CONFLICT (subdomain) DO UPDATE SET active = true",
            &[],
        )
        .await?;
    let aws = rylie_cloud::load_aws_config().await;
    let bucket = format!("rylie-bench-mail-{run_id}");
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&aws).force_path_style(true).build());
    s3.create_bucket().bucket(&bucket).send().await?;
    let config = Config::from_lookup("bench-mail", |name| match name {
        "DATABASE_URL" => Some(database_url.to_owned()),
        "INBOUND_MAIL_DOMAIN" => Some("in.rylie.test".to_owned()),
        _ => None,
    })?;
    let mut state = State::new(config, rylie_store::Db::new(settings))?;
    state.files = BlobStore::s3(&aws, bucket.clone()).into();

    let template: Value = serde_json::from_str(include_str!("../../../events/mail-inbound.json"))?;
    let mut ids = Vec::with_capacity(mails);
    for n in 0..mails {
        let id = format!("bench{run_id}x{n}");
        state
            .files()
            .put(
                &format!("mail/inbound/{id}"),
                lead_mail(run_id, n).into_bytes(),
                "message/rfc822",
            )
            .await?;
        ids.push(id);
    }
    let mut reads = Vec::with_capacity(mails);
    for id in &ids {
        let started = Instant::now();
        state.files().read(&format!("mail/inbound/{id}"), 40 << 20).await?;
        reads.push(started.elapsed());
    }
    let mut totals = Vec::with_capacity(mails);
    for id in &ids {
        let mut event = template.clone();
        let ses = &mut event["Records"][0]["ses"];
        ses["mail"]["messageId"] = id.as_str().into();
        ses["receipt"]["recipients"] = serde_json::json!(["leads+bench-mail@in.rylie.test"]);
        let event = serde_json::from_value(event)?;
        let started = Instant::now();
        inbound::handle(&state, event).await?;
        totals.push(started.elapsed());
    }
    let processed: i64 = owner
        .query_typed(
            "SELECT count(*) FROM inbound_emails WHERE ses_message_id LIKE $1 AND status = 'processed' AND leads_created = 1",
            &[(&format!("bench{run_id}x%"), Type::TEXT)],
        )
        .await?[0]
        .get(0);
    if processed != mails as i64 {
        return Err(format!("only {processed} of {mails} mails became one lead each").into());
    }
    let mean = |samples: &[Duration]| samples.iter().sum::<Duration>() / samples.len().max(1) as u32;
    let excluding: Vec<Duration> = totals.iter().map(|t| t.saturating_sub(mean(&reads))).collect();
    println!("{mails} lead mails (multipart/alternative, ~4 KB), each one SES event → one lead committed");
    println!("{}", summary("SES event → lead committed (end to end)", totals.clone()));
    println!("{}", summary("S3 read of the raw mail alone", reads));
    println!("{}", summary("end to end minus the mean S3 read", excluding));
    Ok(())
}
