# Golden values for servqual.polychoric: psych::polychoric (rho and tau, its defaults:
# global thresholds, pairwise respondents, smoothing) on the 2005 sample's perceptions and on
# the psychometrics fixture (with blanks), and polycor::polychor(ML = TRUE) for single pairs.
#
#   Rscript tests/r/polychoric.R            (or `make golden`)
#
# Writes tests/golden/polychoric.json. Needs r-cran-psych, r-cran-polycor, r-cran-jsonlite.

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "common.R"))
suppressPackageStartupMessages({
  library(psych)
  library(polycor)
})

items <- c(paste0("T", 1:4), paste0("RL", 1:5), paste0("RS", 1:4), paste0("A", 1:4), paste0("E", 1:5))
raw <- read.csv(file.path(here, "..", "..", "data", "raw", "library-2005.csv"))
x <- raw[, sprintf("P%02d", 1:22)]
colnames(x) <- items
x <- x[rowSums(!is.na(x)) > 0, ]

psy <- read.csv(file.path(data_dir, "fixture-psychometrics.csv"), colClasses = "character", na.strings = c("", "NA"))
reverse <- c(paste0("RS", 1:4), paste0("E", 1:5))
y <- as.data.frame(sapply(items, function(i) {
  v <- as.numeric(psy[[paste0("perception_", i)]])
  if (i %in% reverse) v <- 8 - v
  v
}))
y <- y[rowSums(!is.na(y)) > 0, ]

one <- function(frame) {
  pc <- suppressWarnings(suppressMessages(polychoric(frame)))
  list(rho = unname(pc$rho), tau = unname(pc$tau), items = colnames(frame))
}
pairs <- list(c("T1", "T2"), c("RS1", "E3"), c("RL2", "A4"))
ml <- lapply(pairs, function(p) {
  r <- polychor(x[[p[1]]], x[[p[2]]], ML = TRUE, std.err = FALSE)
  list(x = p[1], y = p[2], rho = as.numeric(r))
})
fa_poly <- suppressWarnings(suppressMessages(fa(x, nfactors = 5, fm = "minres", rotate = "oblimin", cor = "poly")))
efa <- list(loadings = unname(unclass(fa_poly$loadings)), communality = unname(fa_poly$communality),
            items = rownames(fa_poly$loadings))
rl <- x[, paste0("RL", 1:5)]
rl <- rl[rowSums(!is.na(rl)) > 0, ]
rho_rl <- suppressWarnings(suppressMessages(polychoric(rl)))$rho
a <- suppressWarnings(alpha(rho_rl, n.obs = nrow(rl)))
ordinal_alpha <- list(
  total = as.list(a$total[, c("raw_alpha", "std.alpha", "G6(smc)", "average_r", "S/N", "ase")]),
  drop_raw_alpha = unname(a$alpha.drop$raw_alpha), std_r = unname(a$item.stats$std.r),
  r_cor = unname(a$item.stats$r.cor), r_drop = unname(a$item.stats$r.drop), n_obs = nrow(rl))
out <- list(sample_2005 = one(x), psychometrics = one(y), polychor_ml = ml, efa_poly = efa,
            ordinal_alpha = ordinal_alpha)
write_json(out, file.path(out_dir, "polychoric.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("wrote", file.path(out_dir, "polychoric.json"), "\n")
