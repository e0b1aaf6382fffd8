# Golden values for full-information ML on the bundled LibQUAL-Lite-style sample cycle
# (data/raw/library-lite-2008.csv): 8 core items shown to everyone, 5 of the other 14 to each
# respondent at random, so nobody answered all 22 and listwise deletion would leave no one.
#
#   Rscript tests/r/fiml_lite.R            (or `make golden`)
#
# Slow: lavaan's FIML loops over the 1,400 missing-data patterns in R (about 50 s per fit;
# servqual's takes about 2 s), so the golden-file currency test runs it only when
# SERVQUAL_SLOW_ORACLE=1.  Writes tests/golden/fiml_lite.json.  Needs r-cran-lavaan.

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "common.R"))
suppressPackageStartupMessages(library(lavaan))

source(file.path(here, "fiml_common.R"))
levels <- list(configural = character(0), metric = c("loadings"))
out <- list()
# the LibQUAL-Lite-style sample: 8 core items shown to all, 5 of the other 14 to each
# respondent; perceived ratings, N/A (0) as missing, everyone who rated at least one item
lite_raw <- read_raw(file.path(here, "..", "..", "data", "raw", "library-lite-2008.csv"))
lite_items <- c(paste0("AS", 1:9), paste0("IC", 1:8), paste0("LP", 1:5))
lite <- as.data.frame(prepare(lite_raw, setNames(paste0("perceived_", lite_items), lite_items), c("0", "N/A"),
                              character(0), 1, 9)$values)
lite$segment <- lite_raw$segment
lite <- lite[rowSums(!is.na(lite[, lite_items])) > 0, ]
lite_model <- paste(c(paste("service_affect =~", paste(lite_items[1:9], collapse = " + ")),
                      paste("information_control =~", paste(lite_items[10:17], collapse = " + ")),
                      paste("library_as_place =~", paste(lite_items[18:22], collapse = " + "))), collapse = "\n")
lite_fiml <- function(...) cfa(lite_model, data = lite, missing = "ml", se = "none", em.h1.tol = 1e-12,
                               em.h1.iter.max = 100000L, ...)
out$single <- describe(lite_fiml())
# by segment the saturated model has no estimate in the smaller groups (lavaan warns); the
# models' own log-likelihoods, which the likelihood-ratio tests use, are still defined
lite_levels <- lapply(levels[1:2], function(eq) {
  # (lavaan's default EM settings here: they touch only the saturated model)
  fit <- suppressWarnings(if (!length(eq)) cfa(lite_model, lite, missing = "ml", group = "segment", se = "none")
                          else cfa(lite_model, lite, missing = "ml", group = "segment", group.equal = eq,
                                   se = "none"))
  list(logl = fitMeasures(fit, "logl")[[1]], npar = fitMeasures(fit, "npar")[[1]],
       bic = fitMeasures(fit, "bic")[[1]], groups = lavInspect(fit, "group.label"),
       n = as.numeric(unlist(lavInspect(fit, "nobs"))),
       std_all = standardizedSolution(fit)$est.std[standardizedSolution(fit)$op == "=~"])
})
out$segment <- lite_levels
out$model <- lite_model

write_json(out, file.path(out_dir, "fiml_lite.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("wrote", file.path(out_dir, "fiml_lite.json"), "\n")
