# Golden values for CFA of ordered items: lavaan::cfa(ordered = TRUE, estimator = "WLSMV")
# (DWLS estimates from thresholds and polychoric correlations, with the mean-and-variance
# adjusted "scaled.shifted" test), on the 2005 sample cycle's perceptions of three
# dimensions (13 items on 1-7) and on a three-category recoding of the Holzinger–Swineford
# items.
#
#   Rscript tests/r/wlsmv.R            (or `make golden`)
#
# Writes tests/golden/wlsmv.json. Needs r-cran-lavaan, r-cran-jsonlite.

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "common.R"))
suppressPackageStartupMessages(library(lavaan))

measures <- c("npar", "chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled",
              "chisq.scaling.factor", "baseline.chisq", "baseline.df", "baseline.chisq.scaled", "cfi", "tli",
              "cfi.scaled", "tli.scaled", "rmsea", "rmsea.scaled", "srmr", "ntotal")

describe <- function(fit) {
  fm <- fitMeasures(fit, measures)
  std <- standardizedSolution(fit)
  est <- parameterEstimates(fit)
  ss <- lavInspect(fit, "sampstat")
  list(
    fit = as.list(setNames(as.numeric(fm), names(fm))),
    loadings = data.frame(factor = est$lhs[est$op == "=~"], item = est$rhs[est$op == "=~"],
                          estimate = est$est[est$op == "=~"], std_all = std$est.std[std$op == "=~"]),
    factor_cov = data.frame(lhs = est$lhs[est$op == "~~" & est$lhs %in% lavNames(fit, "lv")],
                            rhs = est$rhs[est$op == "~~" & est$lhs %in% lavNames(fit, "lv")],
                            estimate = est$est[est$op == "~~" & est$lhs %in% lavNames(fit, "lv")]),
    thresholds = as.numeric(ss$th),
    polychoric = unclass(ss$cov),
    gamma_diag = as.numeric(diag(lavInspect(fit, "gamma")))
  )
}

items <- c(paste0("T", 1:4), paste0("RL", 1:5), paste0("RS", 1:4))
raw <- read.csv(file.path(here, "..", "..", "data", "raw", "library-2005.csv"))
x <- raw[, sprintf("P%02d", 1:13)]
colnames(x) <- items
x <- x[complete.cases(x), ]
sq_model <- paste(c(paste("tangibles =~", paste(items[1:4], collapse = " + ")),
                    paste("reliability =~", paste(items[5:9], collapse = " + ")),
                    paste("responsiveness =~", paste(items[10:13], collapse = " + "))), collapse = "\n")
out <- list()
out$servqual <- describe(cfa(sq_model, data = x, ordered = items, estimator = "WLSMV"))

hs <- HolzingerSwineford1939[, paste0("x", 1:9)]
hs3 <- as.data.frame(lapply(hs, function(v) as.integer(cut(v, quantile(v, c(0, 1/3, 2/3, 1)), include.lowest = TRUE))))
if (Sys.getenv("SERVQUAL_GOLDEN_OUT") == "") {
  write.csv(hs3, file.path(data_dir, "holzinger-swineford-3.csv"), row.names = FALSE)
}
hs_model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
out$hs3 <- describe(cfa(hs_model, data = hs3, ordered = paste0("x", 1:9), estimator = "WLSMV"))
out$model <- list(servqual = sq_model, hs = hs_model)
write_json(out, file.path(out_dir, "wlsmv.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("wrote", file.path(out_dir, "wlsmv.json"), "\n")
