-- depends_on: {{ ref('int_reference_changes') }}, {{ ref('int_orders__enriched') }}
{{
    config(
        post_hook="{{ delete_keys_gone_upstream(
            ref('int_orders__completed'), 'order_id', changed_in=ref('int_orders__enriched')
        ) }}",
        **copy_on_write('order_id')
    )
}}

{%- set normal = "'正常'" -%}

{#- Incremental, copy-on-write (macros/incremental_months.sql): a build judges again the orders
    int_orders__enriched rewrote since its last one, and those of a clinic, doctor or product
    whose CRM or registry data changed since then (a late registry correction re-judges that
    clinic's orders); the other orders are kept as judged (on Spark, copied into the months
    rewritten). The changed orders are taken from
    int_orders__enriched, not from the completed ones: an order no longer completed leaves its
    month here. Nothing here depends on the run date. -#}

with

{% if is_incremental() %}

changed_orders as (

    {{ keys_changed_upstream(ref('int_orders__enriched'), 'order_id', [
        ('clinic_id', 'clinic'), ('doctor_id', 'doctor'), ('product_registration_no', 'product')
    ]) }}

),

{% endif %}

orders as (

    select * from {{ ref('int_orders__completed') }}
    {% if is_incremental() -%}
    where order_id in (select order_id from changed_orders)
    {%- endif %}

),

-- the CRM and the registries as they were on each day: every check below is judged as of the
-- completion date (a licence revoked in May still covers an April order)
clinic_history as (

    select * from {{ ref('int_clinics__history') }}

),

doctor_history as (

    select * from {{ ref('int_doctors__history') }}

),

institution_history as (

    select * from {{ ref('int_institutions__history') }}

),

approved_departments as (

    select * from {{ ref('int_institutions__approved_departments') }}

),

practitioner_history as (

    select * from {{ ref('int_practitioners__history') }}

),

-- products carry no change date: the newest snapshot decides (a 注销 product is invalid for every
-- order; validity is checked against the completion date)
products as (

    select * from {{ ref('stg_registry__products') }}

),

procedures as (

    select * from {{ ref('procedures') }}

),

department_scopes as (

    select * from {{ ref('department_scopes') }}

),

mandatory_fee_items as (

    select * from {{ ref('mandatory_fee_items') }}

),

mandatory_items_by_category as (

    select
        category,
        array_sort(array_agg(fee_item)) as mandatory_fee_items
    from mandatory_fee_items
    group by category

),

-- everything the checks look at, one row per completed order
order_context as (

    select
        orders.order_id,
        orders.clinic_id,
        orders.doctor_id,
        orders.user_id,
        orders.procedure_code,
        orders.category,
        orders.department,
        orders.completed_at,
        orders.completed_date,
        orders.created_month,
        orders.paid_amount,
        orders.list_price,
        orders.product_registration_no,
        orders.device_serial,
        orders.fee_items_json,
        clinic_history.clinic_id is not null as clinic_listed,
        clinic_history.license_no,
        clinic_history.clinic_type,
        -- GOV-14: the grade the clinic's type may perform (医疗美容项目分级管理)
        {{ grade_cap('clinic_history.clinic_type') }} as grade_cap,
        institution_history.license_no is not null as licence_registered,
        institution_history.licence_status,
        institution_history.status_updated_on as licence_status_updated_on,
        institution_history.licence_valid_from,
        institution_history.licence_valid_to,
        {{ status_as_of(
            'institution_history.licence_status', 'institution_history.status_updated_on', 'orders.completed_date'
        ) }} as licence_status_at_service,
        approved_departments.department is not null as department_approved,
        doctor_history.doctor_id is not null as doctor_listed,
        doctor_history.practitioner_license_no,
        practitioner_history.practitioner_license_no is not null as practitioner_registered,
        practitioner_history.practitioner_status,
        practitioner_history.status_updated_on as practitioner_status_updated_on,
        {{ status_as_of(
            'practitioner_history.practitioner_status', 'practitioner_history.status_updated_on', 'orders.completed_date'
        ) }} as practitioner_status_at_service,
        practitioner_history.practice_scope,
        -- 执业范围 permits the department, or a 美容主诊医师 qualified for exactly this department
        department_scopes.department is not null
        or coalesce(
            practitioner_history.is_chief_aesthetic_physician
            and practitioner_history.chief_specialty = orders.department,
            false
        ) as practice_permits_department,
        procedures.grade as procedure_grade,
        procedures.required_product_category,
        procedures.accepts_optional_product,
        procedures.requires_device_serial,
        products.registration_no is not null as product_found,
        products.product_category,
        products.product_status,
        products.approved_on as product_approved_on,
        products.valid_to as product_valid_to,
        mandatory_items_by_category.mandatory_fee_items

    from orders

    -- each history holds exactly one version on a given day
    left join clinic_history
        on
            orders.clinic_id = clinic_history.clinic_id
            and {{ effective_on('clinic_history', 'orders.completed_date') }}

    left join institution_history
        on
            clinic_history.license_no = institution_history.license_no
            and {{ effective_on('institution_history', 'orders.completed_date') }}

    left join approved_departments
        on
            institution_history.license_no = approved_departments.license_no
            and institution_history.version_number = approved_departments.version_number
            and orders.department = approved_departments.department

    left join doctor_history
        on
            orders.doctor_id = doctor_history.doctor_id
            and {{ effective_on('doctor_history', 'orders.completed_date') }}

    left join practitioner_history
        on
            doctor_history.practitioner_license_no = practitioner_history.practitioner_license_no
            and {{ effective_on('practitioner_history', 'orders.completed_date') }}

    left join department_scopes
        on
            orders.department = department_scopes.department
            and practitioner_history.practice_scope = department_scopes.practice_scope

    left join procedures
        on orders.procedure_code = procedures.procedure_code

    left join products
        on orders.product_registration_no = products.registration_no

    left join mandatory_items_by_category
        on orders.category = mandatory_items_by_category.category

),

-- fee_items arrives as JSON text (macros/fee_items.sql: JSON and lists differ by engine)
fee_items_parsed as (

    select
        *,
        {{ fee_item_keys('fee_items_json') }} as fee_item_keys,
        {{ fee_item_amounts('fee_items_json') }} as fee_item_amounts
    from order_context

),

fee_items_checked as (

    select
        *,
        {{ fee_items_are_numbers('fee_item_amounts') }} as fee_items_are_numbers,
        {{ missing_fee_items('mandatory_fee_items', 'fee_item_keys') }} as missing_fee_items
    from fee_items_parsed

),

fee_items_totalled as (

    select
        *,
        case
            when fee_items_are_numbers then {{ fee_items_sum('fee_item_amounts') }}
        end as fee_items_total
    from fee_items_checked

),

-- one reason per rule, the first failing condition in the order of docs/rules.md; null = passes
reasons as (

    select
        *,

        -- GOV-02 licence valid at service time
        case
            when completed_date is null then 'no completion date'
            when not clinic_listed then 'clinic not in the CRM'
            when not licence_registered then 'licence ' || coalesce(license_no, '(none)') || ' not in registry'
            when licence_status_at_service != {{ normal }}
                then 'licence ' || licence_status
                    || coalesce(' since ' || cast(licence_status_updated_on as string), '')
            when completed_date < licence_valid_from or completed_date > licence_valid_to
                then 'completed ' || cast(completed_date as string) || ' outside licence validity '
                    || coalesce(cast(licence_valid_from as string), '') || '..'
                    || coalesce(cast(licence_valid_to as string), '')
        end as licence_reason,

        -- GOV-03 department in scope of the licence
        case
            when completed_date is null then 'no completion date'
            when not clinic_listed then 'clinic not in the CRM'
            when not licence_registered then 'licence ' || coalesce(license_no, '(none)') || ' not in registry'
            when not department_approved then 'department ' || department || ' not approved for the licence'
        end as department_reason,

        -- GOV-04 practitioner in scope
        case
            when doctor_id is null then 'no doctor assigned'
            when completed_date is null then 'no completion date'
            when not doctor_listed then 'doctor ' || doctor_id || ' not in the CRM'
            when practitioner_license_no is null then 'doctor declared no practitioner licence'
            when not practitioner_registered
                then 'practitioner licence ' || practitioner_license_no || ' not in registry'
            when practitioner_status_at_service != {{ normal }}
                then 'practitioner ' || practitioner_status
                    || coalesce(' since ' || cast(practitioner_status_updated_on as string), '')
            when not practice_permits_department
                then 'practice scope ' || coalesce(practice_scope, '(none)') || ' does not permit ' || department
        end as practitioner_reason,

        -- GOV-05 registered product and device serial
        coalesce(
            case
                when required_product_category is not null
                    then
                        case
                            when product_registration_no is null then 'product registration missing'
                            when not product_found then 'product ' || product_registration_no || ' not in registry'
                            when product_category != required_product_category
                                then 'product ' || product_registration_no || ' is ' || product_category
                                    || ', expected ' || required_product_category
                            when product_status != '有效'
                                then 'product ' || product_registration_no || ' ' || product_status
                            when completed_date > product_valid_to
                                then 'product ' || product_registration_no || ' expired on '
                                    || cast(product_valid_to as string)
                            when completed_date < product_approved_on
                                then 'product ' || product_registration_no || ' not approved before '
                                    || cast(product_approved_on as string)
                        end
                -- a product is optional (P02): one that is carried must still be registered and valid
                when accepts_optional_product and product_registration_no is not null
                    then
                        case
                            when not product_found then 'product ' || product_registration_no || ' not in registry'
                            when product_status != '有效'
                                then 'product ' || product_registration_no || ' ' || product_status
                            when completed_date > product_valid_to
                                then 'product ' || product_registration_no || ' expired on '
                                    || cast(product_valid_to as string)
                        end
            end,
            case when requires_device_serial and device_serial is null then 'device serial missing' end
        ) as product_reason,

        -- GOV-08 price transparency
        case
            when not fee_items_are_numbers then 'fee_items is not a JSON object of numbers'
            when abs(fee_items_total - paid_amount) > {{ rule_parameter('GOV-08', 'fee_tolerance_yuan') }}
                then 'fee items sum to ' || cast(fee_items_total as string)
                    || ', paid ' || cast(paid_amount as string)
            when missing_fee_items is not null
                then 'missing mandatory fee items: ' || missing_fee_items
            when paid_amount > list_price
                then 'paid ' || cast(paid_amount as string) || ' exceeds list price ' || cast(list_price as string)
        end as price_reason,

        -- GOV-14 procedure grade within the clinic type's level; ungraded procedures never fail,
        -- a clinic missing from the CRM at completion is GOV-02's finding
        case
            when procedure_grade is null or not clinic_listed then null
            when grade_cap is null
                then procedure_code || ' grade ' || cast(procedure_grade as string)
                    || ': no grade cap for clinic type ' || coalesce(clinic_type, '(none)')
            when procedure_grade > grade_cap
                then procedure_code || ' grade ' || cast(procedure_grade as string) || ' above '
                    || clinic_type || ' cap ' || cast(grade_cap as string)
        end as grade_reason

    from fee_items_totalled

),

final as (

    select
        order_id,
        clinic_id,
        doctor_id,
        user_id,
        procedure_code,
        category,
        department,
        completed_at,
        completed_date,
        paid_amount,
        licence_reason is null as licence_valid_at_service,
        licence_reason,
        department_reason is null as department_in_scope,
        department_reason,
        practitioner_reason is null as practitioner_in_scope,
        practitioner_reason,
        product_reason is null as product_registered,
        product_reason,
        price_reason is null as price_transparent,
        price_reason,
        grade_reason is null as grade_within_level,
        grade_reason,
        -- the one definition of an order finding: fails any of GOV-02..05, GOV-08 or GOV-14
        (
            licence_reason is null
            and department_reason is null
            and practitioner_reason is null
            and product_reason is null
            and price_reason is null
            and grade_reason is null
        ) as is_compliant,
        {{ built_at() }} as built_at,
        -- the partition: last, as Spark keeps partition columns
        created_month
    from reasons

),

-- the months of the changed orders: their rows plus the other orders as judged
order_months as (

    {{ copy_on_write_rows('final', 'order_id', 'changed_orders', ref('int_orders__completed')) }}

)

select * from order_months
