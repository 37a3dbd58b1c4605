with

institutions as (

    select * from {{ ref('int_institutions__history') }}

),

-- 诊疗科目 lists the approved departments separated by a full-width semicolon,
-- per version of the licence
split as (

    select
        license_no,
        version_number,
        {{ split_to_rows('approved_departments', '；') }} as department_entry
    from institutions
    where approved_departments is not null

),

trimmed as (

    select distinct
        license_no,
        version_number,
        {{ trim_text('department_entry') }} as department
    from split

)

select * from trimmed
where department is not null
