{#- GOV-13's fact: the published persona table as one row, its smallest cell and how many cells
    describe fewer buyers than the rule allows, with the verdict and its reason. -#}

{%- set min_buyers = rule_parameter('GOV-13', 'min_buyers') -%}

with

persona_segments as (

    select * from {{ ref('persona_segments') }}

),

cells as (

    select
        'marts.persona_segments' as table_name,
        count(*) as cell_count,
        min(buyers) as smallest_cell_buyers,
        count(case when buyers < {{ min_buyers }} then 1 end) as cells_under_minimum
    from persona_segments

),

final as (

    select
        table_name,
        cell_count,
        smallest_cell_buyers,
        cells_under_minimum,
        cells_under_minimum = 0 as cell_large_enough,
        case
            when cells_under_minimum > 0
                then cast(cells_under_minimum as {{ dbt.type_string() }}) || ' persona cells under '
                    || '{{ min_buyers }} buyers (smallest '
                    || cast(smallest_cell_buyers as {{ dbt.type_string() }}) || ')'
        end as small_cell_reason
    from cells

)

select * from final
