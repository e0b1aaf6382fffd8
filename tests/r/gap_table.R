# Golden values for servqual's screening and gap tables, computed independently in base R.
#
#   Rscript tests/r/gap_table.R            (or `make golden`)
#
# Reads the fixtures in tests/data and writes tests/golden/gap_table_*.json. The
# instrument structures are written out here by hand (not read from the YAML), so that
# this script shares nothing with the Python code but the fixture files.
# Rules (DESIGN.md §2): reverse keying x -> min + max - x; N/A codes are missing after
# screening counted them; paired scoring keeps an item only where every measure was
# rated; a dimension score is the mean of the answered items when at least half of them
# (rounded up) were answered; overall = mean of dimension scores under the same rule;
# weighted = sum(w * s) / sum(w) over the dimensions with a score; group statistics are
# mean, sd (n - 1) and mean +/- qt((1 + ci) / 2, n - 1) * sd / sqrt(n).

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "common.R"))

describe <- function(values, group, ci = 0.95) {
  rows <- list()
  for (g in sort(unique(group))) {
    sel <- group == g
    for (unit in colnames(values)) {
      v <- values[sel, unit]
      v <- v[!is.na(v)]
      n <- length(v)
      m <- if (n > 0) mean(v) else NA
      s <- if (n > 1) sd(v) else NA
      half <- if (n > 1) qt((1 + ci) / 2, n - 1) * s / sqrt(n) else NA
      rows[[length(rows) + 1]] <- data.frame(
        group = g, unit = unit, n = n, mean = m, sd = s,
        ci_low = m - half, ci_high = m + half, stringsAsFactors = FALSE
      )
    }
  }
  do.call(rbind, rows)
}

gap_tables <- function(ratings, dims, gaps, weights, group, paired, ci) {
  if (paired) ratings <- pair(ratings)
  q <- ratings
  for (g in names(gaps)) q[[g]] <- ratings[[gaps[[g]][1]]] - ratings[[gaps[[g]][2]]]
  out <- list()
  for (name in names(q)) {
    item <- q[[name]]
    dim <- dimension_scores(item, dims)
    ov <- as.matrix(overall_scores(dim, weights))
    for (level in c("item", "dimension", "overall")) {
      v <- switch(level, item = item, dimension = dim, overall = ov)
      for (grouping in c("segment", "all")) {
        grp <- if (grouping == "all") rep("ALL", nrow(v)) else group
        d <- describe(v, grp, ci)
        d$quantity <- name
        d$level <- level
        d$grouping <- grouping
        out[[length(out) + 1]] <- d
      }
    }
  }
  do.call(rbind, out)
}

# ---------------------------------------------------------------- fixture 1: SERVQUAL-style
fx <- servqual_fixture()
raw <- fx$raw
dims <- fx$dims
ratings <- fx$ratings
w <- as.matrix(as.data.frame(lapply(raw[, c("weight_alpha", "weight_beta", "weight_gamma")], as.numeric)))
given <- !apply(is.na(w), 1, all)
w[given, ][is.na(w[given, ])] <- 0
colnames(w) <- names(dims)
gaps <- list(gap = c("perception", "expectation"))
res <- list()
for (paired in c(TRUE, FALSE)) {
  r <- gap_tables(ratings, dims, gaps, w, raw$segment, paired, 0.95)
  r$paired <- paired
  res[[length(res) + 1]] <- r
}
r90 <- gap_tables(ratings, dims, gaps, w, raw$segment, TRUE, 0.90)
r90$paired <- TRUE
r90$ci_level <- 0.90
res <- do.call(rbind, res)
res$ci_level <- 0.95
write_golden(rbind(res, r90), "gap_table_servqual.json")

# ---------------------------------------------------------------- fixture 2: three-column core
raw <- read_raw(file.path(data_dir, "fixture-core.csv"))
core_dims <- list(
  service_affect = paste0("AS", 1:9),
  information_control = paste0("IC", 1:8),
  library_as_place = paste0("LP", 1:5)
)
core_items <- unlist(core_dims, use.names = FALSE)
prep <- list()
for (m in c("minimum", "desired", "perceived")) {
  cols <- setNames(paste0(m, "_", core_items), core_items)
  prep[[m]] <- prepare(raw, cols, c("0", "N/A"), character(0), 1, 9)
}
# screening: core complete (N/A is an answer), > 11 items N/A, > 9 inversions
answered <- lapply(prep, function(p) !is.na(p$values) | p$na)
blank <- Reduce(`+`, lapply(answered, function(a) rowSums(!a)))
item_na <- Reduce(`|`, lapply(prep, function(p) p$na))
n_na <- rowSums(item_na)
inv <- rowSums(prep$minimum$values > prep$desired$values, na.rm = TRUE)
excluded <- blank > 0 | n_na > 11 | inv > 9
screening <- data.frame(
  id = raw$respondent_id, blank = blank, not_applicable = n_na, inversions = inv,
  excluded = excluded, stringsAsFactors = FALSE
)
kept <- !excluded
ratings <- lapply(prep, function(p) p$values[kept, , drop = FALSE])
gaps <- list(adequacy = c("perceived", "minimum"), superiority = c("perceived", "desired"))
res <- gap_tables(ratings, core_dims, gaps, NULL, raw$segment[kept], TRUE, 0.95)
res$paired <- TRUE
res$ci_level <- 0.95
write_golden(res, "gap_table_core.json")
write_golden(screening, "screening_core.json")
