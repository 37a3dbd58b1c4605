{#- As-of history of the practitioners registry (卫健委): status, scope and chief-physician
    qualification of every 执业证书编码, version by version. A version starts on its 更新日期. -#}

with

practitioners as (

    select * from {{ ref('base_registry__practitioners') }}

),

registry_rows as (

    select
        practitioner_license_no,
        primary_institution_license_no,
        practice_scope,
        is_chief_aesthetic_physician,
        chief_specialty,
        practitioner_status,
        status_updated_on,
        snapshot_date,
        snapshot_row_number
    from practitioners

),

versions as (

    {{ snapshot_versions(
        'registry_rows',
        entity='practitioners',
        tracked_columns=[
            'primary_institution_license_no', 'practice_scope', 'is_chief_aesthetic_physician',
            'chief_specialty', 'practitioner_status'
        ],
        changed_on='status_updated_on'
    ) }}

),

final as (

    select
        practitioner_license_no,
        version_number,
        primary_institution_license_no,
        practice_scope,
        is_chief_aesthetic_physician,
        chief_specialty,
        practitioner_status,
        changed_on as status_updated_on,
        first_delivered_on,
        last_delivered_on,
        effective_from,
        effective_to
    from versions

)

select * from final
