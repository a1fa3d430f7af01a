//! `rylie-ops bench jobs`: the job platform's own costs (issue 7).
//!
//! * **job-email throughput per worker** against SES (moto locally: `AWS_ENDPOINT_URL`):
//!   system-alert jobs through `email::job::run` one after another, as one worker does — claim
//!   the delivery, send, record — beside the naive way, the same mail sent straight to SES
//!   with no record (what a job without idempotency does). The difference is the idempotency
//!   overhead per job; a redelivered job (already sent) is timed too.
//! * **report generation** for a dealership with `--messages` messages in the period:
//!   `reports::compute` (one statement) and the CSV, target under 2 s.

use std::time::{Duration, Instant};

use rylie_app::{BoxError, Config, State, email::staff_notice};
use rylie_cloud::{Mailer, OutgoingEmail};
use rylie_domain::DealershipId;
use rylie_store::{
    ConnectSettings, Type,
    reports::{self, Bound},
    scope::{self, Scope},
};

use crate::bench::summary;

pub async fn run(database_url: &str, emails: usize, messages: i64) -> Result<(), BoxError> {
    let settings = ConnectSettings::from_url(database_url)?;
    let owner = settings.connect().await?;
    owner
        .batch_execute("SELECT set_config('rylie.scope', 'platform', false)")
        .await?;
    let run_id = chrono::Utc::now().timestamp_micros();
    let dealership: i64 = owner
        .query_typed(
            "INSERT INTO dealerships (name, subdomain, contact_email, handover_email, timezone)
             VALUES ('Bench Jobs Motors', $1, 'gm@bench.test', 'sales@bench.test', 'America/Chicago') RETURNING id",
            &[(&format!("bench-jobs-{run_id}"), Type::TEXT)],
        )
        .await?[0]
        .get(0);

    // ----------------------------------------------------------------- job-email
    let aws = rylie_cloud::load_aws_config().await;
    let sender = format!("bench-{run_id}@rylie.test");
    // moto's SES (and SES in its sandbox) sends only from a verified identity.
    aws_sdk_ses::Client::new(&aws)
        .verify_email_identity()
        .email_address(&sender)
        .send()
        .await?;
    let config = Config::from_lookup("bench-jobs", |name| match name {
        "DATABASE_URL" => Some(database_url.to_owned()),
        "EMAIL_FROM" => Some(format!("Rylie <{sender}>")),
        _ => None,
    })?;
    let mut state = State::new(config, rylie_store::Db::new(settings.clone()))?;
    state.mailer = Mailer::ses(&aws).into();
    let notice = staff_notice::Notice {
        subject: "Inventory feed held: import 1 needs your confirmation".into(),
        lines: vec!["This feed would deactivate 800 of 1,000 active vehicles.".into()],
        link: None,
    };
    println!(
        "job-email: {emails} system alerts, one worker, SES at {}",
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "AWS".to_owned())
    );

    let rendered = staff_notice::render("Bench Jobs Motors", &notice);
    let mut bare = Vec::with_capacity(emails);
    for _ in 0..emails {
        let email = OutgoingEmail {
            from: format!("Rylie <{sender}>"),
            to: "gm@bench.test".into(),
            subject: rendered.subject.clone(),
            text: rendered.text.clone(),
            html: rendered.html.clone(),
            attachments: Vec::new(),
            headers: Vec::new(),
        };
        let started = Instant::now();
        state.mailer().send(&email).await?;
        bare.push(started.elapsed());
    }
    let messages_sent: Vec<_> = (0..emails)
        .map(|n| staff_notice::alert_message(DealershipId(dealership), &format!("bench:{run_id}:{n}"), &notice))
        .collect();
    let mut ours = Vec::with_capacity(emails);
    let wall = Instant::now();
    for message in &messages_sent {
        let started = Instant::now();
        let outcome = rylie_app::email::job::run(&state, message, None).await?;
        if !matches!(outcome, rylie_app::email::Outcome::Sent { .. }) {
            return Err(format!("a bench alert was not sent: {outcome:?}").into());
        }
        ours.push(started.elapsed());
    }
    let ours_wall = wall.elapsed();
    let mut again = Vec::with_capacity(emails);
    for message in &messages_sent {
        let started = Instant::now();
        rylie_app::email::job::run(&state, message, None).await?;
        again.push(started.elapsed());
    }
    let mean = |samples: &[Duration]| samples.iter().sum::<Duration>() / samples.len().max(1) as u32;
    println!("{}", summary("  naive: SES send alone, no record", bare.clone()));
    println!("{}", summary("  ours: claim, send, record (a job)", ours.clone()));
    println!("{}", summary("  ours: the same job redelivered", again));
    println!(
        "  throughput per worker: {:.0} e-mails/s (naive {:.0}/s); idempotency overhead {:.2} ms a job",
        emails as f64 / ours_wall.as_secs_f64(),
        1.0 / mean(&bare).as_secs_f64(),
        (mean(&ours).as_secs_f64() - mean(&bare).as_secs_f64()) * 1000.0
    );

    // ----------------------------------------------------------------- reports
    let per_conversation = 20;
    let conversations = (messages / per_conversation).max(1);
    let seeded = Instant::now();
    owner
        .batch_execute(&format!(
            "INSERT INTO conversations (dealership_id, channel, status, created_at, last_message_at, escalated_at)
             SELECT {dealership}, (ARRAY['web','sms','email'])[1 + n % 3], 'closed',
                    timestamptz '2026-11-02 15:00:00+00' + (n % 6) * interval '1 day' + (n % 600) * interval '1 minute',
                    timestamptz '2026-11-02 16:00:00+00' + (n % 6) * interval '1 day',
                    CASE WHEN n % 5 = 0 THEN timestamptz '2026-11-02 15:30:00+00' + (n % 6) * interval '1 day' END
               FROM generate_series(1, {conversations}) n;
             INSERT INTO messages (dealership_id, conversation_id, content, sender, channel, created_at)
             SELECT c.dealership_id, c.id,
                    CASE WHEN m % 2 = 1 THEN 'Do you have a Toyota Camry? What is the price?' ELSE 'Yes, we do.' END,
                    CASE WHEN m % 2 = 1 THEN 'customer' ELSE 'assistant' END, c.channel,
                    c.created_at + m * interval '20 seconds'
               FROM conversations c, generate_series(1, {per_conversation}) m
              WHERE c.dealership_id = {dealership};
             INSERT INTO leads (dealership_id, source, provider, created_at)
             SELECT {dealership}, (ARRAY['email_adf','web','chat'])[1 + n % 3], 'Bench',
                    timestamptz '2026-11-02 15:00:00+00' + (n % 6) * interval '1 day'
               FROM generate_series(1, {conversations} / 5) n;
             INSERT INTO vehicles (dealership_id, vin, stock_number, make, model, year, price, in_stock_date)
             SELECT {dealership}, 'BJBS' || lpad(n::text, 13, '0'), 'J' || n,
                    (ARRAY['Toyota','Honda','Ford'])[1 + n % 3], (ARRAY['Camry','Civic','F-150'])[1 + n % 3],
                    2020 + n % 5, 20000 + n * 10, date '2026-09-01' + (n % 60)
               FROM generate_series(1, 1000) n;
             ANALYZE conversations; ANALYZE messages; ANALYZE leads; ANALYZE vehicles;"
        ))
        .await
        .map_err(|error| format!("seeding the report's period: {}", rylie_store::describe(&error)))?;
    let stored: i64 = owner
        .query_typed(
            "SELECT count(*) FROM messages WHERE dealership_id = $1",
            &[(&dealership, Type::INT8)],
        )
        .await?[0]
        .get(0);
    println!(
        "report: {stored} messages in {conversations} conversations over the period (seeded in {:.1} s)",
        seeded.elapsed().as_secs_f64()
    );
    let mut client = state.db.client().await?;
    let mut times = Vec::new();
    for _ in 0..7 {
        let started = Instant::now();
        let tx = scope::begin(&mut client, Scope::Tenant(DealershipId(dealership))).await?;
        let report = reports::compute(
            &tx,
            DealershipId(dealership),
            Bound::LocalDate(chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date")),
            Bound::LocalDate(chrono::NaiveDate::from_ymd_opt(2026, 11, 9).expect("a date")),
        )
        .await?
        .ok_or("the bench dealership vanished")?;
        tx.commit().await?;
        let csv = rylie_app::reports::csv(&report);
        times.push(started.elapsed());
        if report.conversations.started == 0 || csv.is_empty() {
            return Err("the report saw nothing".into());
        }
    }
    println!("{}", summary("  reports::compute + CSV (target < 2 s)", times));
    Ok(())
}
