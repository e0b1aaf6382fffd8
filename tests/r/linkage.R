# Golden values for servqual.linkage: r_wg(j) (James, Demaree & Wolf 1984), ICC(1)/ICC(2)
# from one-way ANOVA, unit correlations (cor.test) and lme4::lmer(gap ~ climate + (1 | unit)).
#
#   Rscript tests/r/linkage.R            (or `make golden`)
#
# Writes tests/golden/linkage.json. Needs r-cran-lme4 and r-cran-jsonlite.

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "common.R"))
suppressPackageStartupMessages(library(lme4))

# ---------------------------------------------------------------- staff climate (1-5, N/A 9)
staff <- read_raw(file.path(data_dir, "fixture-staff.csv"))
hpws <- list(involvement = c("IN1", "IN2", "IN3"), empowerment = c("EM1", "EM2", "EM3"),
             trust = c("TR1", "TR2", "TR3"), goal_alignment = c("GA1", "GA2", "GA3"),
             training = c("TN1", "TN2", "TN3"), teamwork = c("TW1", "TW2", "TW3"),
             communications = c("CO1", "CO2", "CO3"), rewards = c("RW1", "RW2", "RW3"))
hpws_items <- unlist(hpws, use.names = FALSE)
x <- prepare(staff, setNames(paste0("agreement_", hpws_items), hpws_items), c("9"), c("TR3", "CO3"), 1, 5)$values
scale_scores <- dimension_scores(x, hpws)
climate <- rowMeans(scale_scores)  # NA when any characteristic is missing
unit <- staff$branch

rwg_j <- function(block, options = 5) {
  v <- apply(block, 2, var, na.rm = TRUE)
  v <- v[!is.na(v)]
  J <- length(v); ratio <- mean(v) / ((options^2 - 1) / 12)
  if (ratio >= 1) return(0)
  J * (1 - ratio) / (J * (1 - ratio) + ratio)
}
agreement <- list()
for (d in names(hpws)) for (u in sort(unique(unit))) {
  agreement[[length(agreement) + 1]] <- data.frame(branch = u, characteristic = d,
                                                   rwg_j = rwg_j(x[unit == u, hpws[[d]], drop = FALSE]))
}
icc <- lapply(names(hpws), function(d) {
  ok <- !is.na(scale_scores[, d]); y <- scale_scores[ok, d]; g <- factor(unit[ok])
  tab <- summary(aov(y ~ g))[[1]]
  msb <- tab[1, "Mean Sq"]; msw <- tab[2, "Mean Sq"]
  n_j <- table(g); N <- sum(n_j); J <- length(n_j)
  k <- (N - sum(n_j^2) / N) / (J - 1)
  data.frame(characteristic = d, icc1 = (msb - msw) / (msb + (k - 1) * msw), icc2 = (msb - msw) / msb,
             f = tab[1, "F value"], p = tab[1, "Pr(>F)"])
})

# ---------------------------------------------------------------- clients: paired overall gap
clients <- read_raw(file.path(data_dir, "fixture-clients.csv"))
sq_dims <- list(tangibles = paste0("T", 1:4), reliability = paste0("RL", 1:5), responsiveness = paste0("RS", 1:4),
                assurance = paste0("A", 1:4), empathy = paste0("E", 1:5))
sq_items <- unlist(sq_dims, use.names = FALSE)
ratings <- pair(list(
  expectation = prepare(clients, setNames(paste0("expectation_", sq_items), sq_items), character(0), character(0), 1, 7)$values,
  perception = prepare(clients, setNames(paste0("perception_", sq_items), sq_items), character(0), character(0), 1, 7)$values
))
gap_dims <- dimension_scores(ratings$perception - ratings$expectation, sq_dims)
perc_dims <- dimension_scores(ratings$perception, sq_dims)
gap <- overall_scores(gap_dims, NULL)$overall
perception <- overall_scores(perc_dims, NULL)$overall

unit_climate <- tapply(climate, unit, mean, na.rm = TRUE)
unit_staff_n <- tapply(rep(1, length(unit)), unit, sum)
unit_gap <- tapply(gap, clients$branch, mean, na.rm = TRUE)
unit_perc <- tapply(perception, clients$branch, mean, na.rm = TRUE)
units <- sort(names(unit_climate))
cor_gap <- cor.test(unit_climate[units], unit_gap[units])
cor_perc <- cor.test(unit_climate[units], unit_perc[units])

data <- data.frame(gap = gap, branch = clients$branch)
data$climate <- unit_climate[data$branch]
data <- data[!is.na(data$gap), ]
fit <- lmer(gap ~ climate + (1 | branch), data = data, REML = TRUE)
vc <- as.data.frame(VarCorr(fit))

write_golden(list(
  agreement = do.call(rbind, agreement),
  icc = do.call(rbind, icc),
  units = data.frame(branch = units, staff_n = as.vector(unit_staff_n[units]), climate = as.vector(unit_climate[units]),
                     client_gap = as.vector(unit_gap[units]), client_perception = as.vector(unit_perc[units])),
  correlations = list(gap = list(r = unname(cor_gap$estimate), ci_low = cor_gap$conf.int[1],
                                 ci_high = cor_gap$conf.int[2], p = cor_gap$p.value),
                      perception = list(r = unname(cor_perc$estimate), ci_low = cor_perc$conf.int[1],
                                        ci_high = cor_perc$conf.int[2], p = cor_perc$p.value)),
  mixed = list(fixef = as.list(fixef(fit)), se = as.list(sqrt(diag(as.matrix(vcov(fit))))),
               unit_variance = vc$vcov[vc$grp == "branch"], residual_variance = vc$vcov[vc$grp == "Residual"],
               n = nrow(data))
), "linkage.json", auto_unbox = TRUE, dataframe = "rows")
