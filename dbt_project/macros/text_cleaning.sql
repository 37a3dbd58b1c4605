{#- Text as delivered by upstream systems: stray (also full-width and non-breaking)
    white space around values, full-width Latin letters and digits in Chinese names. -#}

{#- Trim every kind of white space (DuckDB's trim() leaves tabs and new lines); '' becomes null. -#}
{% macro trim_text(column) -%}
    nullif({{ regexp_replace_all(column, '^[\s\p{Z}]+|[\s\p{Z}]+$', '') }}, '')
{%- endmacro %}

{#- Full-width ASCII (U+FF01..U+FF5E) and the ideographic space (U+3000) to their half-width forms.
    The apostrophe is chr(39): Spark reads '' inside a literal as two adjacent literals, and the
    mapping would slip by one character after it. -#}
{% macro to_half_width(column) -%}
    translate(
        {{ column }},
        '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　',
        concat('!"#$%&', chr(39), '()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~ ')
    )
{%- endmacro %}

{#- A display name: half-width, trimmed. -#}
{% macro clean_name(column) -%}
    {{ trim_text(to_half_width(column)) }}
{%- endmacro %}

{#- GOV-01 name key (docs/rules.md): trim, full-width to half-width, remove all white space. -#}
{% macro name_match_key(column) -%}
    {{ regexp_replace_all(to_half_width(column), '[\s\p{Z}]', '') }}
{%- endmacro %}

{#- GOV-07 text key (docs/rules.md): keep letters and digits only (drops white space,
    punctuation and emoji). -#}
{% macro review_text_key(column) -%}
    {{ regexp_replace_all("coalesce(" ~ column ~ ", '')", '[^\p{L}\p{N}]', '') }}
{%- endmacro %}

{#- Replace every match of `pattern`. DuckDB replaces the first match unless given the 'g'
    flag; Spark always replaces every match and returns NULL when given a flag (dbt-spark turns
    ANSI mode off, so the wrong arity is not even an error). Patterns are written for both
    engines' regex dialects (RE2, Java): \s, \p{Z}, \p{L}, \p{N}, and Spark reads the
    backslashes as written (spark.sql.parser.escapedStringLiterals, profiles.yml). -#}
{% macro regexp_replace_all(column, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'yimei')(column, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regexp_replace_all(column, pattern, replacement) -%}
    regexp_replace({{ column }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro spark__regexp_replace_all(column, pattern, replacement) -%}
    regexp_replace({{ column }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{#- One row per element of a `separator`-separated text, in a select list. Spark's split() takes a
    pattern: the separator is escaped for it (`|`, the declared departments'). -#}
{% macro split_to_rows(column, separator) -%}
    {{ return(adapter.dispatch('split_to_rows', 'yimei')(column, separator)) }}
{%- endmacro %}

{% macro default__split_to_rows(column, separator) -%}
    unnest(string_split({{ column }}, '{{ separator }}'))
{%- endmacro %}

{% macro spark__split_to_rows(column, separator) -%}
    explode(split({{ column }}, '{{ modules.re.escape(separator) }}'))
{%- endmacro %}
