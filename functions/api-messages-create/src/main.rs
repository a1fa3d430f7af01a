//! `POST /v1/dealerships/{dealership_id}/conversations/{conversation_id}/messages`: sends a customer message; answers with the assistant's reply.

// The chat model's HTTPS client is built during init, not by the first customer's message.
rylie_app::http_function!(rylie_app::routes::conversations::customer_message, warm_up: rylie_app::State::responder);
