# The Glue catalog database and the analytics table the catalog's SQL reads (FROM analytics), over the existing
# Parquet data in var.data_bucket_name. Partition projection computes the dt partitions from the query's
# predicates: no crawler, no MSCK REPAIR, no partition to add when a day lands.

resource "aws_glue_catalog_database" "analytics" {
  name        = var.glue_database_name
  description = "Analytics events (athena-cache-proxy, ${local.name})"
}

resource "aws_glue_catalog_table" "analytics" {
  name          = local.table_name
  database_name = aws_glue_catalog_database.analytics.name
  description   = "Analytics events, Parquet, one partition per day (dt=YYYY-MM-DD)"
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    EXTERNAL                      = "TRUE"
    classification                = "parquet"
    "projection.enabled"          = "true"
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy-MM-dd"
    "projection.dt.range"         = "${var.data_projection_start_date},NOW"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
    # $${dt} is Athena's placeholder, not a Terraform interpolation.
    "storage.location.template" = "${local.data_location}dt=$${dt}/"
  }

  # Not stored in the files: it is the directory name.
  partition_keys {
    name    = "dt"
    type    = "string"
    comment = "Day of the events, YYYY-MM-DD (UTC)"
  }

  storage_descriptor {
    location      = local.data_location
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      name                  = "parquet"
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"

      parameters = {
        "serialization.format" = "1"
      }
    }

    columns {
      name = "event_time"
      type = "timestamp"
    }

    columns {
      name = "measure"
      type = "string"
    }

    columns {
      name = "value"
      type = "double"
    }

    columns {
      name = "page"
      type = "string"
    }

    columns {
      name = "country"
      type = "string"
    }

    columns {
      name = "device"
      type = "string"
    }
  }
}
