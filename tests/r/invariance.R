# Golden values for servqual's own ML CFA and measurement invariance: lavaan::cfa with
# group= / group.equal= / group.partial=, fitMeasures, standardizedSolution and lavTestLRT,
# on the Holzinger–Swineford school example (lavaan's data, written to tests/data for the
# Python side) and on the bundled 2005–2007 sample cycles (perceptions, by segment and by year).
#
#   Rscript tests/r/invariance.R            (or `make golden`)
#
# Writes tests/golden/invariance.json and tests/data/holzinger-swineford.csv.
# Needs r-cran-lavaan, r-cran-jsonlite.

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "common.R"))
suppressPackageStartupMessages(library(lavaan))

hs <- HolzingerSwineford1939[, c("school", paste0("x", 1:9))]
if (Sys.getenv("SERVQUAL_GOLDEN_OUT") == "") {  # `make golden` writes the data; the currency test only reads
  write.csv(hs, file.path(data_dir, "holzinger-swineford.csv"), row.names = FALSE)
}
hs_model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"

measures <- c("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper",
              "srmr", "aic", "bic", "ntotal", "logl")

describe <- function(fit) {
  fm <- fitMeasures(fit, measures)
  std <- standardizedSolution(fit)
  est <- parameterEstimates(fit)
  lo <- std[std$op == "=~", ]
  group <- if ("group" %in% names(lo)) lo$group else rep(1L, nrow(lo))
  test <- lavInspect(fit, "test")$standard
  list(
    fit = as.list(setNames(as.numeric(fm), names(fm))),
    chisq_group = if (!is.null(test$stat.group)) as.numeric(test$stat.group) else as.numeric(test$stat),
    loadings = data.frame(group = group, factor = lo$lhs, item = lo$rhs, estimate = est[est$op == "=~", "est"],
                          std_all = lo$est.std),
    intercepts = if (any(est$op == "~1")) {
      e <- est[est$op == "~1" & est$lhs %in% lavNames(fit, "ov"), ]
      data.frame(group = if ("group" %in% names(e)) e$group else 1L, item = e$lhs, estimate = e$est)
    } else NULL,
    latent_means = if (any(est$op == "~1")) {
      e <- est[est$op == "~1" & est$lhs %in% lavNames(fit, "lv"), ]
      data.frame(group = if ("group" %in% names(e)) e$group else 1L, factor = e$lhs, estimate = e$est)
    } else NULL
  )
}

invariance <- function(model, data, group, partial = character(0)) {
  levels <- list(configural = character(0), metric = c("loadings"), scalar = c("loadings", "intercepts"),
                 strict = c("loadings", "intercepts", "residuals"))
  fits <- lapply(levels, function(eq) {
    # se = "none": the golden values are estimates and fit measures, and standard errors triple the time
    if (!length(eq)) return(cfa(model, data = data, group = group, se = "none"))
    if (!length(partial)) return(cfa(model, data = data, group = group, group.equal = eq, se = "none"))
    cfa(model, data = data, group = group, group.equal = eq, group.partial = partial, se = "none")
  })
  lrt <- lavTestLRT(fits$configural, fits$metric, fits$scalar, fits$strict)
  list(groups = lavInspect(fits$configural, "group.label"),
       n = as.numeric(unlist(lavInspect(fits$configural, "nobs"))),
       levels = lapply(fits, describe),
       lrt = data.frame(chisq_diff = lrt[["Chisq diff"]], df_diff = lrt[["Df diff"]], p = lrt[["Pr(>Chisq)"]]))
}

out <- list()
out$hs_single <- describe(cfa(hs_model, data = hs))
out$hs_school <- invariance(hs_model, hs, "school")
out$hs_school_partial <- invariance(hs_model, hs, "school", partial = c("x3 ~ 1", "x7 ~ 1"))
out$hs_school_means <- describe(cfa(hs_model, data = hs, group = "school", se = "none",
                                    group.equal = c("loadings", "intercepts", "means")))

# the bundled sample: perceptions P01..P22 are the servqual-22 items in questionnaire order
items <- c(paste0("T", 1:4), paste0("RL", 1:5), paste0("RS", 1:4), paste0("A", 1:4), paste0("E", 1:5))
sq_model <- paste(c(paste("tangibles =~", paste(items[1:4], collapse = " + ")),
                    paste("reliability =~", paste(items[5:9], collapse = " + ")),
                    paste("responsiveness =~", paste(items[10:13], collapse = " + ")),
                    paste("assurance =~", paste(items[14:17], collapse = " + ")),
                    paste("empathy =~", paste(items[18:22], collapse = " + "))), collapse = "\n")
cycle <- function(year) {
  raw <- read.csv(file.path(here, "..", "..", "data", "raw", sprintf("library-%d.csv", year)))
  x <- raw[, sprintf("P%02d", 1:22)]
  colnames(x) <- items
  x$segment <- raw$segment
  x$year <- year
  x[complete.cases(x[, items]), ]
}
s2005 <- cycle(2005)
out$servqual_single <- describe(cfa(sq_model, data = s2005))
out$servqual_segment <- invariance(sq_model, s2005, "segment")
years <- rbind(s2005, cycle(2006), cycle(2007))
years$year <- as.character(years$year)
out$servqual_year <- invariance(sq_model, years, "year")
out$model <- list(hs = hs_model, servqual = sq_model)

write_json(out, file.path(out_dir, "invariance.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("wrote", file.path(out_dir, "invariance.json"), "\n")
