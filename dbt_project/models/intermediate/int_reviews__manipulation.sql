{#- GOV-07 (docs/rules.md): reviews that belong to a near-identical-text group or a shared-IP group.
    Pairs are only formed inside one clinic and one time window (24 hours, 7 days), so the work
    grows with the busiest clinic-day, not with the square of all reviews. -#}

with

reviews as (

    select * from {{ ref('stg_reviews__reviews') }}

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

-- a review written within 24 hours after an anchor falls on the anchor's day or the next one:
-- probing both days turns the window into an equi-join on (clinic, day)
anchor_probe_days as (

    select
        review_id as anchor_review_id,
        clinic_id,
        created_at as anchor_created_at,
        text_key as anchor_text_key,
        text_length as anchor_text_length,
        created_date as probe_date
    from comparable_texts

    union all

    select
        review_id as anchor_review_id,
        clinic_id,
        created_at as anchor_created_at,
        text_key as anchor_text_key,
        text_length as anchor_text_length,
        cast({{ dbt.dateadd('day', 1, 'created_date') }} as date) as probe_date
    from comparable_texts

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
            and {{ dbt.dateadd('hour', 24, 'anchors.anchor_created_at') }} > members.created_at
            -- the distance is at least the difference in length, so a similarity of 0.9 needs
            -- the shorter text to be at least 90% of the longer one: skip the rest cheaply
            and 10 * least(anchors.anchor_text_length, members.text_length)
            >= 9 * greatest(anchors.anchor_text_length, members.text_length)

),

-- an anchor with fewer than 5 candidates (itself included) cannot make a group:
-- skip the costly text comparison for it
promising_pairs as (

    select * from text_candidate_pairs
    qualify count(*) over (partition by anchor_review_id) >= 5

),

near_identical_pairs as (

    select
        anchor_review_id,
        member_review_id
    from promising_pairs
    -- equal texts, or similarity 1 - distance / longer length >= 0.9, kept in integers
    -- (distance * 10 <= longer length) so no rounding decides a borderline pair
    where
        anchor_text_key = member_text_key
        or 10 * {{ char_levenshtein('anchor_text_key', 'member_text_key') }} <= longer_length

),

near_identical_groups as (

    select
        anchor_review_id,
        count(*) as group_size
    from near_identical_pairs
    group by anchor_review_id
    having count(*) >= 5

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
            and {{ dbt.dateadd('day', 7, 'anchors.created_at') }} > members.created_at

),

shared_ip_groups as (

    select
        anchor_review_id,
        count(distinct member_user_id) as distinct_users
    from shared_ip_pairs
    group by anchor_review_id
    having count(distinct member_user_id) >= 3

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

flagged as (

    select
        coalesce(near_identical_members.review_id, shared_ip_members.review_id) as review_id,
        near_identical_members.review_id is not null as in_near_identical_group,
        near_identical_members.near_identical_group_size,
        shared_ip_members.review_id is not null as in_shared_ip_group,
        shared_ip_members.shared_ip_user_count,
        concat_ws(
            '; ',
            'near-identical text: group of '
            || cast(near_identical_members.near_identical_group_size as varchar) || ' reviews within 24 hours',
            'shared IP: ' || cast(shared_ip_members.shared_ip_user_count as varchar) || ' users within 7 days'
        ) as manipulation_reason
    from near_identical_members
    full outer join shared_ip_members
        on near_identical_members.review_id = shared_ip_members.review_id

)

select * from flagged
