# Shared by fiml.R and fiml_lite.R: the fit measures and estimates each golden fit records
# (lavaan missing = "ml").

measures <- c("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper",
              "srmr", "aic", "bic", "ntotal", "logl", "unrestricted.logl", "baseline.chisq", "baseline.df")

describe <- function(fit) {
  fm <- fitMeasures(fit, measures)
  std <- standardizedSolution(fit)
  est <- parameterEstimates(fit)
  lo <- std[std$op == "=~", ]
  group <- if ("group" %in% names(lo)) lo$group else rep(1L, nrow(lo))
  e <- est[est$op == "~1" & est$lhs %in% lavNames(fit, "ov"), ]
  h1 <- lavInspect(fit, "sampstat.h1")
  if (!is.null(h1$cov)) h1 <- list(h1)
  list(
    fit = as.list(setNames(as.numeric(fm), names(fm))),
    loadings = data.frame(group = group, factor = lo$lhs, item = lo$rhs, estimate = est[est$op == "=~", "est"],
                          std_all = lo$est.std),
    intercepts = data.frame(group = if ("group" %in% names(e)) e$group else 1L, item = e$lhs, estimate = e$est),
    h1_mean = lapply(h1, function(x) as.numeric(x$mean)),
    h1_cov = lapply(h1, function(x) unclass(x$cov)),
    coverage = lapply(if (is.list(lavInspect(fit, "coverage")) && !is.matrix(lavInspect(fit, "coverage")))
                        lavInspect(fit, "coverage") else list(lavInspect(fit, "coverage")), unclass)
  )
}
