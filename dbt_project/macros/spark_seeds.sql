{#- dbt-spark 1.11's session mode binds seed values as Python text: an empty cell becomes the
    string 'None' and a quote breaks the statement. Seeds are loaded with SQL literals instead:
    empty -> null, text quoted (a quote spliced in with chr(39): Spark reads '' as two literals). -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for value in row -%}
                    {%- set type = column_override.get(agate_table.column_names[loop.index0],
                        adapter.convert_type(agate_table, loop.index0)) -%}
                    cast({{ spark_seed_literal(value) }} as {{ type }}){%- if not loop.last %}, {% endif -%}
                {%- endfor -%}){%- if not loop.last %},{% endif %}
            {% endfor -%}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}

{% macro spark_seed_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is number or value is boolean -%}
        {{ value }}
    {%- else -%}
        {%- set parts = (value | string).split("'") -%}
        {%- if parts | length == 1 -%}'{{ value }}'{%- else -%}concat('{{ parts | join("', chr(39), '") }}'){%- endif -%}
    {%- endif -%}
{%- endmacro %}
