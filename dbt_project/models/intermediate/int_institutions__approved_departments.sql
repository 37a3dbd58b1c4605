with

institutions as (

    select * from {{ ref('stg_registry__institutions') }}

),

-- 诊疗科目 lists the approved departments separated by a full-width semicolon
-- (string_split + unnest: DuckDB)
split as (

    select
        license_no,
        unnest(string_split(approved_departments, '；')) as department_entry
    from institutions
    where approved_departments is not null

),

trimmed as (

    select distinct
        license_no,
        {{ trim_text('department_entry') }} as department
    from split

)

select * from trimmed
where department is not null
