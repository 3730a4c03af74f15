//! Hand-written to match both `migrations/postgres` and `migrations/sqlite`:
//! only types both backends share (Text, Integer, Bool, Date, Timestamp).

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        default_country -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    properties (id) {
        id -> Text,
        org_id -> Text,
        code -> Text,
        name -> Text,
        time_zone -> Text,
        currency -> Text,
        country -> Text,
        address -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        org_id -> Text,
        email -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        must_change_password -> Bool,
        disabled_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    api_clients (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        secret_hash -> Text,
        role -> Text,
        grants -> Text,
        disabled_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        org_id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    guests (id) {
        id -> Text,
        org_id -> Text,
        family_name -> Nullable<Text>,
        given_name -> Nullable<Text>,
        family_name_latin -> Nullable<Text>,
        given_name_latin -> Nullable<Text>,
        gender -> Nullable<Text>,
        birthday -> Nullable<Date>,
        nationality -> Nullable<Text>,
        language -> Nullable<Text>,
        phones -> Text,
        emails -> Text,
        company -> Nullable<Text>,
        address -> Nullable<Text>,
        notes -> Nullable<Text>,
        preferences -> Text,
        tags -> Text,
        resident -> Bool,
        blacklisted -> Bool,
        blacklist_category -> Nullable<Text>,
        blacklist_reason -> Nullable<Text>,
        blacklisted_by -> Nullable<Text>,
        blacklisted_at -> Nullable<Timestamp>,
        erased_at -> Nullable<Timestamp>,
        version -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        merged_into -> Nullable<Text>,
        merged_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    guest_tags (guest_id, tag) {
        org_id -> Text,
        guest_id -> Text,
        tag -> Text,
    }
}

diesel::table! {
    guest_search_terms (guest_id, term) {
        org_id -> Text,
        guest_id -> Text,
        term -> Text,
    }
}

diesel::table! {
    guest_identity_documents (id) {
        id -> Text,
        org_id -> Text,
        guest_id -> Text,
        doc_type -> Text,
        number_encrypted -> Text,
        number_hash -> Text,
        number_masked -> Text,
        issuing_country -> Nullable<Text>,
        expires_on -> Nullable<Date>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    guest_consents (id) {
        id -> Text,
        org_id -> Text,
        guest_id -> Text,
        purpose -> Text,
        channel -> Nullable<Text>,
        status -> Text,
        source -> Text,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        org_id -> Text,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
        changed_fields -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (org_id, principal_id, idempotency_key) {
        org_id -> Text,
        principal_id -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        status_code -> Nullable<Integer>,
        response_headers -> Nullable<Text>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
        committed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    room_types (id) {
        id -> Text,
        org_id -> Text,
        property_id -> Text,
        code -> Text,
        name -> Text,
        room_count -> Integer,
        max_occupancy -> Integer,
        overbooking_percent -> Integer,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    rate_plans (id) {
        id -> Text,
        org_id -> Text,
        property_id -> Text,
        code -> Text,
        name -> Text,
        meal_plan -> Text,
        cancellation_policy -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    inventory_overrides (room_type_id, stay_date) {
        org_id -> Text,
        room_type_id -> Text,
        stay_date -> Date,
        rooms -> Nullable<Integer>,
        closed -> Bool,
    }
}

diesel::table! {
    reservations (id) {
        id -> Text,
        org_id -> Text,
        property_id -> Text,
        guest_id -> Text,
        channel -> Text,
        channel_code -> Text,
        channel_reservation_id -> Nullable<Text>,
        channel_last_modified -> Nullable<Timestamp>,
        confirmation_number -> Text,
        status -> Text,
        special_requests -> Nullable<Text>,
        guest_comments -> Nullable<Text>,
        currency -> Text,
        total_amount -> BigInt,
        cancellation_fee -> Nullable<BigInt>,
        compensation -> Nullable<Text>,
        status_changed_at -> Nullable<Timestamp>,
        version -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        account_id -> Nullable<Text>,
        contract_id -> Nullable<Text>,
        discount_amount -> BigInt,
        coupon_code -> Nullable<Text>,
    }
}

diesel::table! {
    reservation_rooms (id) {
        id -> Text,
        org_id -> Text,
        reservation_id -> Text,
        property_id -> Text,
        room_type_id -> Text,
        rate_plan_id -> Text,
        arrival -> Date,
        departure -> Date,
        adults -> Integer,
        children_ages -> Text,
        amount -> BigInt,
        cancellation_policy -> Text,
        holds_inventory -> Bool,
        negotiated_amount -> Nullable<BigInt>,
        contract_id -> Nullable<Text>,
    }
}

diesel::table! {
    reservation_revisions (id) {
        id -> Text,
        org_id -> Text,
        reservation_id -> Text,
        version -> Integer,
        action -> Text,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        changed_fields -> Text,
        raw_message -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    channel_messages (id) {
        id -> Text,
        org_id -> Text,
        channel_code -> Text,
        channel_reservation_id -> Text,
        action -> Text,
        last_modified -> Timestamp,
        message_hash -> Text,
        outcome -> Text,
        reservation_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    stays (id) {
        id -> Text,
        org_id -> Text,
        guest_id -> Text,
        reservation_id -> Text,
        property_id -> Text,
        channel -> Text,
        arrival -> Date,
        departure -> Date,
        nights -> Integer,
        currency -> Text,
        room_revenue -> BigInt,
        food_and_beverage_revenue -> BigInt,
        other_revenue -> BigInt,
        total_revenue -> BigInt,
        checked_out_at -> Timestamp,
    }
}

diesel::table! {
    guest_stats (guest_id) {
        guest_id -> Text,
        org_id -> Text,
        stays -> Integer,
        nights -> Integer,
        spend -> Text,
        channel_mix -> Text,
        first_stay_on -> Date,
        last_stay_on -> Date,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> Text,
        org_id -> Text,
        url -> Text,
        secret_encrypted -> Text,
        event_types -> Text,
        active -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_events (id) {
        id -> Text,
        org_id -> Text,
        event_type -> Text,
        entity_id -> Text,
        payload -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        org_id -> Text,
        subscription_id -> Text,
        event_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    room_nights_sold (org_id, room_type_id, night) {
        org_id -> Text,
        room_type_id -> Text,
        night -> Date,
        sold -> Integer,
    }
}

diesel::table! {
    loyalty_programs (org_id) {
        org_id -> Text,
        name -> Text,
        currency -> Text,
        expiry_months -> Nullable<Integer>,
        earn_rates -> Text,
        rounding -> Text,
        qualification_window_months -> Integer,
        review_period_months -> Integer,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    loyalty_tiers (id) {
        id -> Text,
        org_id -> Text,
        code -> Text,
        name -> Text,
        rank -> Integer,
        qualification -> Text,
        retention -> Nullable<Text>,
        multiplier_percent -> Integer,
        benefits -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    loyalty_rewards (id) {
        id -> Text,
        org_id -> Text,
        code -> Text,
        name -> Text,
        kind -> Text,
        points_price -> BigInt,
        stock -> Nullable<Integer>,
        valid_from -> Nullable<Date>,
        valid_until -> Nullable<Date>,
        active -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    loyalty_members (id) {
        id -> Text,
        org_id -> Text,
        guest_id -> Text,
        member_number -> Text,
        tier_id -> Text,
        source -> Text,
        joined_on -> Date,
        tier_since -> Date,
        next_review_on -> Date,
        points_balance -> BigInt,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    loyalty_tier_changes (id) {
        id -> Text,
        org_id -> Text,
        member_id -> Text,
        from_tier_id -> Nullable<Text>,
        to_tier_id -> Text,
        reason -> Text,
        note -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    points_entries (id) {
        id -> Text,
        org_id -> Text,
        member_id -> Text,
        entry_type -> Text,
        points -> BigInt,
        source_type -> Text,
        source_id -> Nullable<Text>,
        reason -> Nullable<Text>,
        dedupe_key -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    points_lots (id) {
        id -> Text,
        org_id -> Text,
        member_id -> Text,
        entry_id -> Text,
        points -> BigInt,
        remaining -> BigInt,
        expires_on -> Nullable<Date>,
        expired_entry_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    points_lot_uses (entry_id, lot_id) {
        org_id -> Text,
        entry_id -> Text,
        lot_id -> Text,
        points -> BigInt,
    }
}

diesel::table! {
    points_redemptions (id) {
        id -> Text,
        org_id -> Text,
        member_id -> Text,
        reward_id -> Nullable<Text>,
        quantity -> Integer,
        points -> BigInt,
        description -> Text,
        status -> Text,
        entry_id -> Text,
        cancel_entry_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    accounts (id) {
        id -> Text,
        org_id -> Text,
        kind -> Text,
        legal_name -> Text,
        tax_id -> Nullable<Text>,
        address -> Nullable<Text>,
        contacts -> Text,
        account_manager_id -> Nullable<Text>,
        notes -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    account_guests (account_id, guest_id) {
        org_id -> Text,
        account_id -> Text,
        guest_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    contract_templates (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    contract_template_versions (id) {
        id -> Text,
        org_id -> Text,
        template_id -> Text,
        number -> Integer,
        status -> Text,
        clauses -> Text,
        published_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    contracts (id) {
        id -> Text,
        org_id -> Text,
        code -> Text,
        account_id -> Text,
        status -> Text,
        current_version -> Integer,
        terminated_reason -> Nullable<Text>,
        status_changed_at -> Nullable<Timestamp>,
        version -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    contract_versions (id) {
        id -> Text,
        org_id -> Text,
        contract_id -> Text,
        number -> Integer,
        status -> Text,
        template_version_id -> Text,
        title -> Text,
        property_ids -> Text,
        valid_from -> Date,
        valid_to -> Date,
        currency -> Text,
        rates -> Text,
        room_night_commitment -> Integer,
        allotment_per_night -> Nullable<Integer>,
        enforcement -> Text,
        payment_terms -> Nullable<Text>,
        cancellation_terms -> Nullable<Text>,
        breach_penalty -> Nullable<Text>,
        pace_alert_percent -> Integer,
        amendment_reason -> Nullable<Text>,
        submitted_at -> Nullable<Timestamp>,
        signed_at -> Nullable<Timestamp>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    contract_signatures (id) {
        id -> Text,
        org_id -> Text,
        contract_id -> Text,
        version_number -> Integer,
        party -> Text,
        signer_name -> Text,
        signer_title -> Nullable<Text>,
        signed_at -> Timestamp,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        consent_text -> Text,
        document_sha256 -> Text,
        recorded_by -> Text,
    }
}

diesel::table! {
    contract_documents (id) {
        id -> Text,
        org_id -> Text,
        contract_id -> Text,
        version_number -> Integer,
        document_sha256 -> Text,
        pdf_sha256 -> Text,
        pdf -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    contract_nights (org_id, contract_id, night) {
        org_id -> Text,
        contract_id -> Text,
        night -> Date,
        rooms -> Integer,
    }
}

diesel::table! {
    contract_alerts (id) {
        id -> Text,
        org_id -> Text,
        contract_id -> Text,
        kind -> Text,
        period_key -> Text,
        message -> Text,
        details -> Text,
        status -> Text,
        raised_at -> Timestamp,
        acknowledged_at -> Nullable<Timestamp>,
        acknowledged_by -> Nullable<Text>,
    }
}

diesel::table! {
    analytics_settings (org_id) {
        org_id -> Text,
        currency -> Text,
        settings -> Text,
        version -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    guest_insights (guest_id) {
        guest_id -> Text,
        org_id -> Text,
        gender -> Nullable<Text>,
        nationality -> Nullable<Text>,
        language -> Nullable<Text>,
        city -> Nullable<Text>,
        birthday -> Nullable<Date>,
        birthday_month -> Nullable<Integer>,
        resident -> Bool,
        blacklisted -> Bool,
        created_on -> Date,
        consents -> Text,
        channels -> Text,
        properties -> Text,
        tier_code -> Nullable<Text>,
        tier_rank -> Nullable<Integer>,
        points_balance -> BigInt,
        stays -> Integer,
        nights -> Integer,
        spend -> BigInt,
        average_rate -> Nullable<BigInt>,
        first_stay_on -> Nullable<Date>,
        last_stay_on -> Nullable<Date>,
        first_stay_month -> Nullable<Text>,
        usual_interval_days -> Nullable<Integer>,
        stays_last_12_months -> Integer,
        stays_previous_12_months -> Integer,
        main_channel -> Nullable<Text>,
        acquisition_channel -> Nullable<Text>,
        profiled -> Bool,
        rfm_recency -> Nullable<Integer>,
        rfm_frequency -> Nullable<Integer>,
        rfm_monetary -> Nullable<Integer>,
        value_class -> Nullable<Text>,
        rfm_reasons -> Nullable<Text>,
        travel_purpose -> Nullable<Text>,
        purpose_reasons -> Nullable<Text>,
        churn_score -> Nullable<Integer>,
        churn_grade -> Nullable<Text>,
        churn_reasons -> Nullable<Text>,
        spend_band -> Text,
        computed_at -> Timestamp,
    }
}

diesel::table! {
    segments (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        rule -> Text,
        member_count -> Nullable<Integer>,
        refreshed_at -> Nullable<Timestamp>,
        version -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    segment_members (segment_id, guest_id) {
        org_id -> Text,
        segment_id -> Text,
        guest_id -> Text,
    }
}

diesel::table! {
    message_outbox (id) {
        id -> Text,
        org_id -> Text,
        guest_id -> Text,
        property_id -> Nullable<Text>,
        template_id -> Nullable<Text>,
        trigger_kind -> Text,
        channel -> Nullable<Text>,
        recipient -> Nullable<Text>,
        subject -> Nullable<Text>,
        body -> Nullable<Text>,
        status -> Text,
        reason -> Nullable<Text>,
        dedupe_key -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        campaign_id -> Nullable<Text>,
        coupon_code -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    message_templates (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        trigger_kind -> Text,
        channel -> Text,
        language -> Text,
        subject -> Nullable<Text>,
        body -> Text,
        active -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    property_message_triggers (property_id, trigger_kind) {
        org_id -> Text,
        property_id -> Text,
        trigger_kind -> Text,
        enabled -> Bool,
        days_before -> Nullable<Integer>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    survey_templates (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        definition -> Text,
        active -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    survey_invitations (id) {
        id -> Text,
        org_id -> Text,
        template_id -> Text,
        template_version -> Integer,
        definition -> Text,
        guest_id -> Text,
        stay_id -> Text,
        property_id -> Text,
        expires_at -> Timestamp,
        answered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    survey_responses (id) {
        id -> Text,
        org_id -> Text,
        invitation_id -> Text,
        guest_id -> Text,
        stay_id -> Text,
        property_id -> Text,
        room_hygiene -> Nullable<Integer>,
        food_beverage -> Nullable<Integer>,
        front_desk -> Nullable<Integer>,
        staff_attitude -> Nullable<Integer>,
        value -> Nullable<Integer>,
        location -> Nullable<Integer>,
        nps -> Nullable<Integer>,
        comment -> Nullable<Text>,
        ticket_id -> Nullable<Text>,
        answered_on -> Date,
        answered_at -> Timestamp,
    }
}

diesel::table! {
    reviews (id) {
        id -> Text,
        org_id -> Text,
        property_id -> Text,
        source -> Text,
        external_id -> Nullable<Text>,
        rating_tenths -> Integer,
        scale -> Integer,
        score -> Integer,
        title -> Nullable<Text>,
        body -> Nullable<Text>,
        language -> Nullable<Text>,
        author_name -> Nullable<Text>,
        reviewed_on -> Date,
        guest_id -> Nullable<Text>,
        stay_id -> Nullable<Text>,
        reply_text -> Nullable<Text>,
        reply_status -> Text,
        replied_at -> Nullable<Timestamp>,
        replied_by -> Nullable<Text>,
        version -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    guest_stay_months (guest_id, months_after) {
        org_id -> Text,
        guest_id -> Text,
        months_after -> Integer,
        cohort_month -> Text,
    }
}

diesel::table! {
    ticket_sla_targets (org_id, category) {
        org_id -> Text,
        category -> Text,
        acknowledge_minutes -> Integer,
        resolve_minutes -> Integer,
        hard_limit_minutes -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tickets (id) {
        id -> Text,
        org_id -> Text,
        property_id -> Text,
        kind -> Text,
        category -> Text,
        severity -> Text,
        priority -> Integer,
        vip -> Bool,
        status -> Text,
        subject -> Text,
        description -> Nullable<Text>,
        channel -> Text,
        guest_id -> Nullable<Text>,
        reservation_id -> Nullable<Text>,
        stay_id -> Nullable<Text>,
        room -> Nullable<Text>,
        assignee_id -> Nullable<Text>,
        acknowledge_due -> Timestamp,
        resolve_due -> Timestamp,
        hard_due -> Timestamp,
        next_due -> Nullable<Timestamp>,
        breaches -> Text,
        escalation_level -> Integer,
        escalated_at -> Nullable<Timestamp>,
        acknowledged_at -> Nullable<Timestamp>,
        first_resolved_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        reopen_count -> Integer,
        resolution -> Nullable<Text>,
        compensation -> Nullable<Text>,
        malicious -> Bool,
        malicious_note -> Nullable<Text>,
        version -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ticket_events (id) {
        id -> Text,
        org_id -> Text,
        ticket_id -> Text,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Nullable<Text>,
        actor_kind -> Text,
        actor_id -> Text,
        note -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ticket_comments (id) {
        id -> Text,
        org_id -> Text,
        ticket_id -> Text,
        author_id -> Text,
        body -> Text,
        internal -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    staff_notifications (id) {
        id -> Text,
        org_id -> Text,
        user_id -> Text,
        kind -> Text,
        entity_type -> Text,
        entity_id -> Text,
        message -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(properties -> organizations (org_id));
diesel::joinable!(guest_tags -> guests (guest_id));
diesel::joinable!(guest_search_terms -> guests (guest_id));
diesel::joinable!(contract_versions -> contracts (contract_id));
diesel::joinable!(stays -> guest_insights (guest_id));

diesel::table! {
    campaigns (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        segment_id -> Text,
        template_ids -> Text,
        property_id -> Nullable<Text>,
        status -> Text,
        scheduled_at -> Nullable<Timestamp>,
        started_at -> Nullable<Timestamp>,
        completed_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        lease_until -> Nullable<Timestamp>,
        send_cursor -> Nullable<Text>,
        audience_count -> Integer,
        currency -> Text,
        budget_amount -> Nullable<BigInt>,
        cost_amount -> BigInt,
        offer -> Nullable<Text>,
        shared_code -> Nullable<Text>,
        total_limit -> Nullable<Integer>,
        redeemed_count -> Integer,
        attribution_days -> Integer,
        version -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    coupon_redemptions (id) {
        id -> Text,
        org_id -> Text,
        campaign_id -> Text,
        guest_id -> Text,
        reservation_id -> Text,
        code -> Text,
        discount_amount -> BigInt,
        currency -> Text,
        status -> Text,
        created_at -> Timestamp,
        released_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    import_presets,
    import_jobs,
    import_problems,
    guest_source_keys,
    duplicate_candidates,
    duplicate_scans,
    guest_merges,
    retention_policies,
    campaigns,
    coupon_redemptions,
    message_outbox,
    message_templates,
    property_message_triggers,
    survey_templates,
    survey_invitations,
    survey_responses,
    reviews,
    guest_stay_months,
    ticket_sla_targets,
    tickets,
    ticket_events,
    ticket_comments,
    staff_notifications,
    analytics_settings,
    guest_insights,
    segments,
    segment_members,
    accounts,
    account_guests,
    contract_templates,
    contract_template_versions,
    contracts,
    contract_versions,
    contract_signatures,
    contract_documents,
    contract_nights,
    contract_alerts,
    room_nights_sold,
    loyalty_programs,
    loyalty_tiers,
    loyalty_rewards,
    loyalty_members,
    loyalty_tier_changes,
    points_entries,
    points_lots,
    points_lot_uses,
    points_redemptions,
    organizations,
    properties,
    users,
    api_clients,
    refresh_tokens,
    guests,
    guest_tags,
    guest_search_terms,
    guest_identity_documents,
    guest_consents,
    audit_events,
    idempotency_keys,
    room_types,
    rate_plans,
    inventory_overrides,
    reservations,
    reservation_rooms,
    reservation_revisions,
    stays,
    guest_stats,
    channel_messages,
    webhook_subscriptions,
    webhook_events,
    webhook_deliveries,
);

diesel::table! {
    import_presets (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        mapping -> Text,
        version -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    import_jobs (id) {
        id -> Text,
        org_id -> Text,
        status -> Text,
        dry_run -> Bool,
        file_name -> Text,
        format -> Text,
        encoding -> Nullable<Text>,
        mapping -> Nullable<Text>,
        preset_id -> Nullable<Text>,
        source -> Text,
        total_bytes -> BigInt,
        processed_bytes -> BigInt,
        rows_read -> Integer,
        created_count -> Integer,
        skipped_count -> Integer,
        failed_count -> Integer,
        error -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        heartbeat_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    import_problems (job_id, row_number, position) {
        org_id -> Text,
        job_id -> Text,
        row_number -> Integer,
        position -> Integer,
        field -> Text,
        code -> Text,
        message -> Text,
    }
}

diesel::table! {
    guest_source_keys (org_id, source_key) {
        org_id -> Text,
        source_key -> Text,
        guest_id -> Text,
        job_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    duplicate_candidates (id) {
        id -> Text,
        org_id -> Text,
        guest_a -> Text,
        guest_b -> Text,
        score -> Integer,
        reasons -> Text,
        status -> Text,
        found_at -> Timestamp,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    duplicate_scans (org_id) {
        org_id -> Text,
        last_scan_at -> Timestamp,
        guests -> Integer,
        pairs -> Integer,
    }
}

diesel::table! {
    guest_merges (id) {
        id -> Text,
        org_id -> Text,
        survivor_id -> Text,
        loser_id -> Text,
        status -> Text,
        survivor_before -> Text,
        loser_before -> Text,
        survivor_version_after -> Integer,
        moved -> Text,
        merged_by -> Text,
        merged_at -> Timestamp,
        unmerged_by -> Nullable<Text>,
        unmerged_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    retention_policies (org_id) {
        org_id -> Text,
        enabled -> Bool,
        anonymise_after_years -> Integer,
        version -> Integer,
        updated_by -> Text,
        updated_at -> Timestamp,
        last_run_at -> Nullable<Timestamp>,
        last_run_count -> Nullable<Integer>,
    }
}
