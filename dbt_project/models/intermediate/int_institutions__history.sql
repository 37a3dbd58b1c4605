{#- As-of history of the institutions registry (卫健委): status, validity and approved departments
    of every licence, version by version. A version starts on its 更新日期. -#}

with

institutions as (

    select * from {{ ref('base_registry__institutions') }}

),

registry_rows as (

    select
        license_no,
        institution_name,
        city,
        approved_departments,
        licence_status,
        valid_from as licence_valid_from,
        valid_to as licence_valid_to,
        status_updated_on,
        snapshot_date,
        snapshot_row_number
    from institutions

),

versions as (

    {{ snapshot_versions(
        'registry_rows',
        entity='institutions',
        tracked_columns=[
            'institution_name', 'city', 'approved_departments', 'licence_status',
            'licence_valid_from', 'licence_valid_to'
        ],
        changed_on='status_updated_on'
    ) }}

),

final as (

    select
        license_no,
        version_number,
        institution_name,
        city,
        approved_departments,
        licence_status,
        licence_valid_from,
        licence_valid_to,
        changed_on as status_updated_on,
        first_delivered_on,
        last_delivered_on,
        effective_from,
        effective_to
    from versions

)

select * from final
