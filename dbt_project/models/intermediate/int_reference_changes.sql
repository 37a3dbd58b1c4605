{{ config(**partition_overwrite('entity_kind')) }}

{#- When the reference data an order is judged with last changed, per key an order joins on:
    a clinic (its CRM history, the registry history and approved departments of every licence
    it declared, its current CRM row), a doctor (CRM history and the practitioner registry of
    every licence declared) and a product (the newest registry row). The digest of each key's
    rows is compared with the one of the last build: a new, re-sent or late snapshot that
    changes a key moves its `changed_at` to this build; one that repeats it leaves it. The
    order facts re-judge the months holding orders of keys changed since their own last build
    (macros/incremental_months.sql). Small: one row per key, rewritten whole every build. -#}

with

clinic_history as (

    select * from {{ ref('int_clinics__history') }}

),

current_clinics as (

    select * from {{ ref('stg_platform__clinics') }}

),

institution_history as (

    select * from {{ ref('int_institutions__history') }}

),

approved_departments as (

    select * from {{ ref('int_institutions__approved_departments') }}

),

doctor_history as (

    select * from {{ ref('int_doctors__history') }}

),

practitioner_history as (

    select * from {{ ref('int_practitioners__history') }}

),

products as (

    select * from {{ ref('stg_registry__products') }}

),

clinic_licences as (

    select distinct
        clinic_id,
        license_no
    from clinic_history
    where license_no is not null

),

doctor_licences as (

    select distinct
        doctor_id,
        practitioner_license_no
    from doctor_history
    where practitioner_license_no is not null

),

-- the columns the order facts judge with, and only those: a snapshot that repeats a key moves
-- its delivery dates (first_delivered_on, last_delivered_on) but changes no judgement. A check
-- that reads another column of these tables adds it here.
{%- set validity = ['effective_from', 'effective_to'] %}

row_hashes as (

    select
        'clinic' as entity_kind,
        clinic_id as entity_key,
        {{ row_hash(['version_number', 'license_no'] + validity) }} as row_hash
    from clinic_history

    union all

    select
        'clinic' as entity_kind,
        clinic_id as entity_key,
        {{ row_hash(['city']) }} as row_hash
    from current_clinics

    union all

    select
        'clinic' as entity_kind,
        clinic_licences.clinic_id as entity_key,
        {{ row_hash([
            'institution_history.license_no', 'institution_history.version_number',
            'institution_history.licence_status', 'institution_history.status_updated_on',
            'institution_history.licence_valid_from', 'institution_history.licence_valid_to',
            'institution_history.effective_from', 'institution_history.effective_to'
        ]) }} as row_hash
    from clinic_licences
    inner join institution_history
        on clinic_licences.license_no = institution_history.license_no

    union all

    select
        'clinic' as entity_kind,
        clinic_licences.clinic_id as entity_key,
        {{ row_hash([
            'approved_departments.license_no', 'approved_departments.version_number',
            'approved_departments.department'
        ]) }} as row_hash
    from clinic_licences
    inner join approved_departments
        on clinic_licences.license_no = approved_departments.license_no

    union all

    select
        'doctor' as entity_kind,
        doctor_id as entity_key,
        {{ row_hash(['version_number', 'practitioner_license_no'] + validity) }} as row_hash
    from doctor_history

    union all

    select
        'doctor' as entity_kind,
        doctor_licences.doctor_id as entity_key,
        {{ row_hash([
            'practitioner_history.practitioner_license_no', 'practitioner_history.practitioner_status',
            'practitioner_history.status_updated_on', 'practitioner_history.practice_scope',
            'practitioner_history.is_chief_aesthetic_physician', 'practitioner_history.chief_specialty',
            'practitioner_history.effective_from', 'practitioner_history.effective_to'
        ]) }} as row_hash
    from doctor_licences
    inner join practitioner_history
        on doctor_licences.practitioner_license_no = practitioner_history.practitioner_license_no

    union all

    select
        'product' as entity_kind,
        registration_no as entity_key,
        {{ row_hash(['product_category', 'product_status', 'approved_on', 'valid_to']) }} as row_hash
    from products

),

digests as (

    select
        entity_kind,
        entity_key,
        bit_xor(row_hash) as digest
    from row_hashes
    where entity_key is not null
    group by entity_kind, entity_key

),

-- the digests of the last build (none in a full one); the two branches confuse the linter's
-- indentation check
-- noqa: disable=LT02
last_build as (

    {% if is_incremental() -%}
    select
        entity_kind,
        entity_key,
        digest,
        changed_at
    from {{ this }}
    {%- else -%}
    select
        entity_kind,
        entity_key,
        digest,
        {{ built_at() }} as changed_at
    from digests
    where false
    {%- endif %}

),
-- noqa: enable=LT02

compared as (

    -- a key that left the reference data keeps a row (digest null): its orders were judged
    -- with it and must be judged again
    select
        coalesce(digests.entity_kind, last_build.entity_kind) as entity_kind,
        coalesce(digests.entity_key, last_build.entity_key) as entity_key,
        digests.digest,
        case
            when last_build.entity_key is null then {{ built_at() }}
            when digests.digest = last_build.digest then last_build.changed_at
            when digests.digest is null and last_build.digest is null then last_build.changed_at
            else {{ built_at() }}
        end as changed_at
    from digests
    full outer join last_build
        on
            digests.entity_kind = last_build.entity_kind
            and digests.entity_key = last_build.entity_key

),

final as (

    select
        entity_key,
        digest,
        changed_at,
        {{ built_at() }} as built_at,
        entity_kind
    from compared

)

select * from final
