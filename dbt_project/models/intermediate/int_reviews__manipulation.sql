{{
    config(
        post_hook="{{ delete_emptied_months(ref('stg_reviews__reviews'), 'created_month') }}",
        **partition_overwrite('created_month')
    )
}}

{#- GOV-07 (docs/rules.md): one row per review, flagged when it belongs to a near-identical-text
    group or a shared-IP group. Pairs are only formed inside one clinic and one time window
    (the rule's burst and shared-IP windows), so the work grows with the busiest clinic-day, not
    with the square of all reviews.

    Incremental a month at a time: a review's flag depends on the reviews of its clinic up to one
    window before and after it, so a month the review fact rewrote is judged again together with
    the months either side of it, each from the reviews of its own and the neighbouring months
    (which holds while both windows are shorter than a month: checked below). -#}

{%- set burst_min_reviews = rule_parameter('GOV-07', 'burst_min_reviews') -%}
{%- set burst_window_hours = rule_parameter('GOV-07', 'burst_window_hours') -%}
{%- set min_similarity = rule_parameter('GOV-07', 'min_similarity') -%}
{%- set shared_ip_min_users = rule_parameter('GOV-07', 'shared_ip_min_users') -%}
{%- set shared_ip_window_days = rule_parameter('GOV-07', 'shared_ip_window_days') -%}
{%- if burst_window_hours > 28 * 24 or shared_ip_window_days > 28 -%}
    {{ exceptions.raise_compiler_error("GOV-07 windows longer than four weeks need a wider month reach") }}
{%- endif -%}
{#- the days after an anchor's own day that a review within the burst window can fall on -#}
{%- set burst_probe_days = (burst_window_hours / 24) | round(0, 'ceil') | int -%}

with

{% if is_incremental() %}

-- the months whose flags may change, and the months of the reviews that can decide them
months_to_judge as (

    {{ months_rebuilt_around(ref('stg_reviews__reviews'), 'created_month', reach=1) }}

),

months_to_read as (

    {{ months_rebuilt_around(ref('stg_reviews__reviews'), 'created_month', reach=2) }}

),

{% endif %}

reviews as (

    select * from {{ ref('stg_reviews__reviews') }}
    {% if is_incremental() -%}
    where created_month in (select created_month from months_to_read)
    {%- endif %}

),

review_texts as (

    select
        review_id,
        clinic_id,
        user_id,
        ip_hash,
        created_at,
        created_date,
        {{ review_text_key('review_text') }} as text_key
    from reviews

),

-- empty normalised texts are never near-identical
comparable_texts as (

    select
        *,
        length(text_key) as text_length
    from review_texts
    where text_key != ''

),

-- a review written within the burst window after an anchor falls on the anchor's day or one of
-- the next few: probing those days turns the window into an equi-join on (clinic, day)
probe_day_offsets as (

    {{ integer_rows('day_offset', burst_probe_days) }}

),

anchor_probe_days as (

    select
        comparable_texts.review_id as anchor_review_id,
        comparable_texts.clinic_id,
        comparable_texts.created_at as anchor_created_at,
        comparable_texts.text_key as anchor_text_key,
        comparable_texts.text_length as anchor_text_length,
        cast({{ dbt.dateadd('day', 'probe_day_offsets.day_offset', 'comparable_texts.created_date') }} as date)
            as probe_date
    from comparable_texts
    cross join probe_day_offsets

),

text_candidate_pairs as (

    select
        anchors.anchor_review_id,
        members.review_id as member_review_id,
        anchors.anchor_text_key,
        members.text_key as member_text_key,
        greatest(anchors.anchor_text_length, members.text_length) as longer_length
    from anchor_probe_days as anchors
    inner join comparable_texts as members
        on
            anchors.clinic_id = members.clinic_id
            and anchors.probe_date = members.created_date
            and anchors.anchor_created_at <= members.created_at
            and {{ dbt.dateadd('hour', burst_window_hours, 'anchors.anchor_created_at') }} > members.created_at
            -- the distance is at least the difference in length, so a similarity s needs the
            -- shorter text to be at least s times the longer one: skip the rest cheaply
            -- (s is a decimal literal: exact on both engines, no rounding decides a borderline pair)
            and least(anchors.anchor_text_length, members.text_length)
            >= {{ min_similarity }} * greatest(anchors.anchor_text_length, members.text_length)

),

-- an anchor with fewer candidates (itself included) than a burst needs cannot make a group:
-- skip the costly text comparison for it
promising_pairs as (

    select
        anchor_review_id,
        member_review_id,
        anchor_text_key,
        member_text_key,
        longer_length
    from (
        select
            *,
            count(*) over (partition by anchor_review_id) as anchor_candidates
        from text_candidate_pairs
    ) as counted
    where anchor_candidates >= {{ burst_min_reviews }}

),

near_identical_pairs as (

    select
        anchor_review_id,
        member_review_id
    from promising_pairs
    -- equal texts, or similarity 1 - distance / longer length >= s, as
    -- distance <= (1 - s) * longer length in exact decimals
    where
        anchor_text_key = member_text_key
        or {{ char_levenshtein('anchor_text_key', 'member_text_key') }} <= (1 - {{ min_similarity }}) * longer_length

),

near_identical_groups as (

    select
        anchor_review_id,
        count(*) as group_size
    from near_identical_pairs
    group by anchor_review_id
    having count(*) >= {{ burst_min_reviews }}

),

near_identical_members as (

    select
        near_identical_pairs.member_review_id as review_id,
        max(near_identical_groups.group_size) as near_identical_group_size
    from near_identical_pairs
    inner join near_identical_groups
        on near_identical_pairs.anchor_review_id = near_identical_groups.anchor_review_id
    group by near_identical_pairs.member_review_id

),

shared_ip_pairs as (

    select
        anchors.review_id as anchor_review_id,
        members.review_id as member_review_id,
        members.user_id as member_user_id
    from review_texts as anchors
    inner join review_texts as members
        on
            anchors.clinic_id = members.clinic_id
            and anchors.ip_hash = members.ip_hash
            and anchors.created_at <= members.created_at
            and {{ dbt.dateadd('day', shared_ip_window_days, 'anchors.created_at') }} > members.created_at

),

shared_ip_groups as (

    select
        anchor_review_id,
        count(distinct member_user_id) as distinct_users
    from shared_ip_pairs
    group by anchor_review_id
    having count(distinct member_user_id) >= {{ shared_ip_min_users }}

),

shared_ip_members as (

    select
        shared_ip_pairs.member_review_id as review_id,
        max(shared_ip_groups.distinct_users) as shared_ip_user_count
    from shared_ip_pairs
    inner join shared_ip_groups
        on shared_ip_pairs.anchor_review_id = shared_ip_groups.anchor_review_id
    group by shared_ip_pairs.member_review_id

),

judged as (

    select
        reviews.review_id,
        near_identical_members.review_id is not null as in_near_identical_group,
        near_identical_members.near_identical_group_size,
        shared_ip_members.review_id is not null as in_shared_ip_group,
        shared_ip_members.shared_ip_user_count,
        near_identical_members.review_id is not null
        or shared_ip_members.review_id is not null as manipulation_flagged,
        nullif(
            concat_ws(
                '; ',
                'near-identical text: group of '
                || cast(near_identical_members.near_identical_group_size as string)
                || ' reviews within {{ burst_window_hours }} hours',
                'shared IP: ' || cast(shared_ip_members.shared_ip_user_count as string)
                || ' users within {{ shared_ip_window_days }} days'
            ),
            ''
        ) as manipulation_reason,
        {{ built_at() }} as built_at,
        reviews.created_month
    from reviews
    left join near_identical_members
        on reviews.review_id = near_identical_members.review_id
    left join shared_ip_members
        on reviews.review_id = shared_ip_members.review_id
    {% if is_incremental() -%}
    where reviews.created_month in (select created_month from months_to_judge)
    {%- endif %}

)

select * from judged
