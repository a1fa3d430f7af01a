//! `GET /v1/dealerships/{dealership_id}/reports`: reports a period's figures: conversations, leads, handovers, response times, demand, inventory, experiments.

rylie_app::http_function!(rylie_app::routes::reports::get);
