{#- Seeds on Spark through dbt-spark's session method: its loader quotes each value without
    escaping it and sends a missing one as the text 'None' (dbt-spark 1.11), so "don't" breaks
    the insert and an empty cell would become 'None' rather than null. This loader writes each
    value as an escaped literal, and null as null, as DuckDB's loader reads the same CSV.
    Overrides dbt-spark's own (root project macros come first in dbt's dispatch). -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for column in agate_table.column_names -%}
                    {%- set type = column_override.get(column, adapter.convert_type(agate_table, loop.index0)) -%}
                    {%- set value = row[loop.index0] -%}
                    cast({{ 'null' if value is none else coprod.quoted_text(value | string) }} as {{ type }})
                    {{- "," if not loop.last }}
                {%- endfor -%})
                {{- "," if not loop.last }}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}
