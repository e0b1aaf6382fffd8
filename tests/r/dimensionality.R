# Golden values for servqual.dimensionality and omega: psych::KMO, psych::cortest.bartlett,
# psych::fa (minres / ml x oblimin / promax / varimax), lavaan::cfa + fitMeasures, and
# omega computed from psych::fa (one factor, per dimension) and a lavaan bifactor model.
#
#   Rscript tests/r/dimensionality.R            (or `make golden`)
#
# Writes tests/golden/dimensionality.json. Data preparation is written out by hand, as in
# tests/r/gap_table.R. Needs r-cran-psych, r-cran-gparotation, r-cran-lavaan, r-cran-jsonlite.

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "common.R"))
suppressPackageStartupMessages({
  library(psych)
  library(lavaan)
})

# SERVQUAL 1988 wording: responsiveness and empathy items are negatively worded (8 - x)
psy <- read.csv(file.path(data_dir, "fixture-psychometrics.csv"), colClasses = "character", na.strings = c("", "NA"))
dims <- list(tangibles = paste0("T", 1:4), reliability = paste0("RL", 1:5), responsiveness = paste0("RS", 1:4),
             assurance = paste0("A", 1:4), empathy = paste0("E", 1:5))
core_items <- unlist(dims, use.names = FALSE)
reverse <- c(dims$responsiveness, dims$empathy)
perceived <- as.data.frame(sapply(seq_along(core_items), function(k) {
  v <- as.numeric(psy[[paste0("perception_", core_items[k])]])
  if (core_items[k] %in% reverse) v <- 8 - v
  v
}))
colnames(perceived) <- core_items
perceived <- perceived[rowSums(!is.na(perceived)) > 0, ]

sq <- read.csv(file.path(data_dir, "fixture-servqual.csv"), colClasses = "character", na.strings = c("", "NA"))
sq_items <- c("a1", "b1", "a2", "b2", "c1", "a3", "b3", "c2", "b4", "c3")
perception <- as.data.frame(sapply(sq_items, function(i) {
  v <- as.numeric(sq[[paste0("P_", i)]])
  v[!is.na(v) & v == 0] <- NA
  if (i %in% c("b2", "c3")) v <- 8 - v
  v
}))
perception <- perception[rowSums(!is.na(perception)) > 0, ]

adequacy <- function(x) {
  r <- cor(x, use = "pairwise")
  k <- KMO(r)
  b <- cortest.bartlett(r, n = nrow(x))
  list(kmo = k$MSA, kmo_items = as.list(k$MSAi), chisq = b$chisq, df = b$df, p_value = b$p.value, n = nrow(x))
}

efa_case <- function(x, nf, fm, rotate) {
  f <- suppressWarnings(suppressMessages(fa(x, nfactors = nf, fm = fm, rotate = rotate)))
  l <- unclass(f$loadings)
  list(nfactors = nf, fm = fm, rotate = rotate, items = rownames(l),
       loadings = lapply(seq_len(ncol(l)), function(j) l[, j]),
       communality = as.vector(f$communality),
       phi = if (is.null(f$Phi)) NULL else lapply(seq_len(ncol(f$Phi)), function(j) f$Phi[, j]),
       ss_loadings = as.vector(f$Vaccounted["SS loadings", ]))
}

efas <- list()
for (fm in c("minres", "ml")) for (rot in c("oblimin", "promax", "varimax")) {
  efas[[paste(fm, rot, sep = "_")]] <- efa_case(perceived, 5, fm, rot)
}
efas[["servqual_minres_oblimin_2"]] <- efa_case(perception, 2, "minres", "oblimin")
efas[["servqual_ml_none_1"]] <- efa_case(perception, 1, "ml", "none")

# CFA on complete respondents (lavaan's default listwise deletion); std.lv = TRUE gives the
# same fit as marker identification and converges more reliably for the bifactor model
measure_lines <- sapply(names(dims), function(d) paste(d, "=~", paste(dims[[d]], collapse = " + ")))
models <- list(
  dimensions = paste(measure_lines, collapse = "\n"),
  one_factor = paste("general =~", paste(core_items, collapse = " + ")),
  bifactor = paste(c(paste("general =~", paste(core_items, collapse = " + ")), measure_lines,
                     combn(c("general", names(dims)), 2, function(p) paste(p[1], "~~", paste0("0*", p[2])))),
                   collapse = "\n")
)
complete <- na.omit(perceived)
measures <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper",
              "srmr", "aic", "bic", "npar", "ntotal")
cfas <- list()
for (name in names(models)) {
  fit <- cfa(models[[name]], data = complete, std.lv = TRUE)
  fm <- fitMeasures(fit, measures)
  std <- standardizedSolution(fit)
  load <- std[std$op == "=~", c("lhs", "rhs", "est.std")]
  cfas[[name]] <- list(fit = as.list(fm), loadings = load)
}

# omega for the whole instrument from the bifactor model (raw metric, implied variance)
bif <- cfa(models$bifactor, data = complete, std.lv = TRUE)
est <- lavInspect(bif, "est")
lambda <- est$lambda
psi <- diag(est$psi)
sigma <- fitted(bif)$cov
total_var <- sum(sigma)
group_part <- sum(sapply(names(dims), function(d) psi[d] * sum(lambda[, d])^2))
omega_h <- psi["general"] * sum(lambda[, "general"])^2 / total_var
omega_t <- (psi["general"] * sum(lambda[, "general"])^2 + group_part) / total_var

# omega total per dimension from one-factor ML on the pairwise covariance matrix
omega_dims <- sapply(names(dims), function(d) {
  x <- perceived[, dims[[d]]]
  f <- suppressWarnings(fa(x, nfactors = 1, fm = "ml", rotate = "none"))
  s <- apply(x, 2, sd, na.rm = TRUE)
  l <- as.vector(f$loadings) * s
  u <- (1 - as.vector(f$communality)) * s^2
  sum(l)^2 / (sum(l)^2 + sum(u))
})

golden <- list(
  adequacy_psychometrics = adequacy(perceived),
  adequacy_servqual = adequacy(perception),
  efa = efas,
  cfa = cfas,
  omega = list(hierarchical = unname(omega_h), total = unname(omega_t), dimensions = as.list(omega_dims))
)
path <- file.path(out_dir, "dimensionality.json")
writeLines(toJSON(golden, digits = NA, na = "null", auto_unbox = TRUE, dataframe = "rows"), path)
cat("wrote", path, "\n")
