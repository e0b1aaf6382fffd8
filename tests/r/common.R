# Shared by the golden-value scripts: reading fixtures and the scoring rules of DESIGN.md §2,
# written out independently of the Python package.

suppressPackageStartupMessages(library(jsonlite))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/r"
data_dir <- file.path(here, "..", "data")
out_dir <- Sys.getenv("SERVQUAL_GOLDEN_OUT", file.path(here, "..", "golden"))
dir.create(out_dir, showWarnings = FALSE)

read_raw <- function(path) {
  read.csv(path, colClasses = "character", na.strings = c("", "NA"), check.names = FALSE)
}

# ratings as numbers; N/A codes flagged; reverse keyed
prepare <- function(raw, cols, na_codes, reverse, lo, hi) {
  x <- raw[, cols, drop = FALSE]
  na <- as.matrix(as.data.frame(lapply(x, function(v) !is.na(v) & toupper(trimws(v)) %in% toupper(na_codes))))
  num <- as.matrix(as.data.frame(lapply(x, function(v) suppressWarnings(as.numeric(v)))))
  num[na] <- NA
  colnames(num) <- names(cols)
  colnames(na) <- names(cols)
  rev_cols <- names(cols) %in% reverse
  num[, rev_cols] <- lo + hi - num[, rev_cols]
  list(values = num, na = na)
}

# a dimension score: mean of the answered items when at least half (rounded up) were answered
dimension_scores <- function(m, dims) {
  sapply(dims, function(items) {
    block <- m[, items, drop = FALSE]
    count <- rowSums(!is.na(block))
    s <- rowSums(block, na.rm = TRUE) / count
    s[count < ceiling(length(items) / 2)] <- NA
    s
  })
}

overall_scores <- function(d, w) {
  count <- rowSums(!is.na(d))
  ok <- count >= ceiling(ncol(d) / 2)
  overall <- ifelse(ok, rowSums(d, na.rm = TRUE) / count, NA)
  res <- data.frame(overall = overall)
  if (!is.null(w)) {
    have <- !is.na(d)
    wa <- ifelse(have, w, 0)
    denom <- rowSums(wa)
    weighted <- rowSums(ifelse(have, d, 0) * wa) / denom
    ok_w <- ok & denom > 0 & !apply(is.na(w), 1, all)
    res$overall_weighted <- ifelse(ok_w, weighted, NA)
  }
  res
}

# paired: keep an item only where every measure was rated
pair <- function(ratings) {
  complete <- Reduce(`&`, lapply(ratings, function(m) !is.na(m)))
  lapply(ratings, function(m) { m[!complete] <- NA; m })
}

write_golden <- function(result, name, ...) {
  path <- file.path(out_dir, name)
  writeLines(toJSON(result, digits = NA, na = "null", ...), path)
  cat("wrote", path, "\n")
}

# the SERVQUAL-style fixture: items, dimensions, perception and expectation matrices
servqual_fixture <- function(file = "fixture-servqual.csv") {
  raw <- read_raw(file.path(data_dir, file))
  items <- c("a1", "b1", "a2", "b2", "c1", "a3", "b3", "c2", "b4", "c3")
  ratings <- list()
  for (m in c("expectation", "perception")) {
    prefix <- if (m == "expectation") "E_" else "P_"
    ratings[[m]] <- prepare(raw, setNames(paste0(prefix, items), items), c("0"), c("b2", "c3"), 1, 7)$values
  }
  list(raw = raw, items = items, ratings = ratings,
       dims = list(alpha = c("a1", "a2", "a3"), beta = c("b1", "b2", "b3", "b4"), gamma = c("c1", "c2", "c3")))
}
