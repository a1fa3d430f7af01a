//! `GET /v1/dealerships/{dealership_id}/conversations`: lists conversations by status, channel, assignee, customer and date.

rylie_app::http_function!(rylie_app::routes::conversations::list);
