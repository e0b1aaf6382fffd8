# Golden values for servqual's weighting (servqual/weighting.py), from R's survey package.
#
#   Rscript tests/r/weighting.R            (or `make golden`; Debian: r-cran-survey)
#
# The SERVQUAL-style fixture (tests/data/fixture-servqual.csv, every respondent kept) is
# weighted to population margins written out here (also in tests/test_weighting.py):
#   poststratify  postStratify on segment
#   rake          rake on segment and branch (epsilon 1e-12 of the total, maxit 1000)
#   trim          that raking, then trimWeights(upper = 1.6 N/n, strict = TRUE) and rake
#                 again, repeated until no raked weight is 0.1 % over the cap
# For each design: the weights, and svyby(~score, ~segment, svymean, na.rm = TRUE) and
# svymean for every item, dimension and overall score of expectation, perception and the
# gap (paired: an item counts where both were rated), with their linearised standard
# errors (the calibration residuals of the raking included), sqrt(svyvar) over the
# respondents with a score, and Kish's effective n. The trimmed design's standard errors
# calibrate its final weights once more: rake(svydesign(ids = ~1, weights = ~w), …).

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "common.R"))
suppressPackageStartupMessages(library(survey))

fx <- servqual_fixture()
raw <- fx$raw
ratings <- pair(fx$ratings)
ratings$gap <- ratings$perception - ratings$expectation

pop_segment <- data.frame(segment = c("academic staff", "postgraduate", "undergraduate"),
                          Freq = c(2000, 6000, 22000))
pop_branch <- data.frame(branch = c("Central", "Health", "Law", "Science"),
                         Freq = c(15000, 6000, 4000, 5000))
trim_upper_ratio <- 1.6

scores <- data.frame(segment = raw$segment, branch = raw$branch, stringsAsFactors = FALSE)
units <- list()
for (q in names(ratings)) {
  item <- ratings[[q]]
  dim <- dimension_scores(item, fx$dims)
  ov <- as.matrix(overall_scores(dim, NULL))
  for (level in c("item", "dimension", "overall")) {
    v <- switch(level, item = item, dimension = dim, overall = ov)
    for (unit in colnames(v)) {
      column <- paste(q, level, unit, sep = "__")
      scores[[column]] <- v[, unit]
      units[[length(units) + 1]] <- data.frame(column = column, quantity = q, level = level, unit = unit)
    }
  }
}
units <- do.call(rbind, units)

margins <- list(~segment, ~branch)
populations <- list(pop_segment, pop_branch)
control <- list(epsilon = 1e-12, maxit = 1000)
base <- svydesign(ids = ~1, data = scores)

designs <- list()
designs$poststratify <- postStratify(base, ~segment, pop_segment)
designs$rake <- rake(base, margins, populations, control = control)

n <- nrow(scores)
mean_weight <- sum(pop_segment$Freq) / n
upper <- trim_upper_ratio * mean_weight
d <- designs$rake
rounds <- 0
while (rounds < 100 && any(weights(d) > upper * (1 + 1e-3))) {
  d <- trimWeights(d, upper = upper, strict = TRUE)
  d <- rake(d, margins, populations, control = control)
  rounds <- rounds + 1
}
scores$trimmed_weight <- weights(d)
trim_weights <- weights(d)
designs$trim <- rake(svydesign(ids = ~1, weights = ~trimmed_weight, data = scores), margins, populations,
                     control = control)

estimates <- list()
for (name in names(designs)) {
  design <- designs[[name]]
  w <- if (name == "trim") trim_weights else weights(design)
  for (k in seq_len(nrow(units))) {
    column <- units$column[k]
    y <- scores[[column]]
    f <- as.formula(paste0("~`", column, "`"))
    by <- svyby(f, ~segment, design, svymean, na.rm = TRUE, keep.names = FALSE)
    all <- svymean(f, design, na.rm = TRUE)
    groups <- c(by$segment, "ALL")
    means <- c(by[[column]], coef(all))
    ses <- c(SE(by), SE(all))
    for (g in seq_along(groups)) {
      member <- if (groups[g] == "ALL") rep(TRUE, n) else scores$segment == groups[g]
      ok <- member & !is.na(y)
      sub <- subset(design, ok)
      sd <- if (sum(ok) > 1) sqrt(coef(svyvar(f, sub, na.rm = TRUE))) else NA
      estimates[[length(estimates) + 1]] <- data.frame(
        design = name, quantity = units$quantity[k], level = units$level[k], unit = units$unit[k],
        group = groups[g], n = sum(ok), mean = unname(means[g]), se = unname(ses[g]), sd = unname(sd),
        n_effective = sum(w[ok])^2 / sum(w[ok]^2), stringsAsFactors = FALSE)
    }
  }
}

# design-based one-sample t tests of the dimension gaps, per segment, on the raked design
ttests <- list()
for (k in which(units$quantity == "gap" & units$level == "dimension")) {
  column <- units$column[k]
  for (g in sort(unique(scores$segment))) {
    # rows outside a calibrated design's subset stay in it with zero weight; their blank
    # scores would make svyglm's estimate NA, so they are zero-filled (they carry no weight)
    y <- scores[[column]]
    design <- update(designs$rake, y0 = ifelse(is.na(y), 0, y))
    sub <- subset(design, segment == g & !is.na(y))
    tt <- svyttest(y0 ~ 0, sub)
    ttests[[length(ttests) + 1]] <- data.frame(unit = units$unit[k], group = g, statistic = unname(tt$statistic),
                                               df = unname(tt$parameter), stringsAsFactors = FALSE)
  }
}

# design-based Wald tests of equal segment means (the dimension gaps), on the raked design
wald <- list()
for (k in which(units$quantity == "gap" & units$level == "dimension")) {
  column <- units$column[k]
  y <- scores[[column]]
  design <- update(designs$rake, y0 = ifelse(is.na(y), 0, y))
  model <- svyglm(y0 ~ segment, subset(design, !is.na(y)))
  test <- regTermTest(model, ~segment)
  wald[[length(wald) + 1]] <- data.frame(unit = units$unit[k], statistic = unname(test$Ftest), df1 = test$df,
                                         df2 = test$ddf, p = unname(test$p), stringsAsFactors = FALSE)
}

write_golden(list(
  population = list(segment = setNames(as.list(pop_segment$Freq), pop_segment$segment),
                    branch = setNames(as.list(pop_branch$Freq), pop_branch$branch)),
  trim_upper_ratio = trim_upper_ratio,
  trim_rounds = rounds,
  weights = data.frame(id = raw$respondent_id, poststratify = weights(designs$poststratify),
                       rake = weights(designs$rake), trim = trim_weights),
  estimates = do.call(rbind, estimates),
  ttests = do.call(rbind, ttests),
  wald = do.call(rbind, wald)
), "weighting.json", auto_unbox = TRUE)
