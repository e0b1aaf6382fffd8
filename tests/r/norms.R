# Consortium norms, independently of DuckDB and pandas: stage 1 (per institution, year and
# user group, the mean of each respondent's dimension score: the mean of the answered items
# when at least half were answered; groups under min_group_n left out), stage 2 (across
# institution-years: count, mean, sd and quantile type 7, R's default).
# Usage: Rscript norms.R rows.csv spec.json out.json
# rows.csv: institution, year, user_group, one column per item rating of the chosen measure
# spec.json: {"dimensions": {dim: [items]}, "min_group_n": 10, "probs": [0.05, ...]}
suppressPackageStartupMessages(library(jsonlite))
args <- commandArgs(trailingOnly = TRUE)
rows <- read.csv(args[1], check.names = FALSE, stringsAsFactors = FALSE)
spec <- fromJSON(args[2], simplifyVector = TRUE)
out <- list()
for (dim in names(spec$dimensions)) {
  items <- spec$dimensions[[dim]]
  x <- as.matrix(rows[, items, drop = FALSE])
  answered <- rowSums(!is.na(x))
  score <- ifelse(answered >= ceiling(length(items) / 2), rowSums(x, na.rm = TRUE) / answered, NA)
  key <- paste(rows$institution, rows$year, rows$user_group, sep = "\r")
  n <- tapply(score, key, function(v) sum(!is.na(v)))
  m <- tapply(score, key, function(v) mean(v, na.rm = TRUE))
  keep <- n >= spec$min_group_n
  group <- sapply(strsplit(names(m), "\r"), `[`, 3)
  for (g in sort(unique(group[keep]))) {
    v <- as.numeric(m[keep & group == g])
    q <- quantile(v, probs = spec$probs, type = 7, names = FALSE)
    out[[length(out) + 1]] <- list(user_group = g, dimension = dim, institutions = length(v), mean = mean(v),
                                   sd = if (length(v) > 1) sd(v) else NA, quantiles = q)
  }
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"), args[3])
