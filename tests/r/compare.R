# Golden values for servqual.compare and servqual.ipa: t.test(paired = TRUE), wilcox.test,
# p.adjust, oneway.test, kruskal.test, Games-Howell (ptukey), Welch t.test between cycles,
# lm with sandwich::vcovHC(type = "HC3"), an exact LMG, and importance-performance means.
#
#   Rscript tests/r/compare.R            (or `make golden`)
#
# Writes tests/golden/compare.json. Needs r-cran-sandwich and r-cran-jsonlite.

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "common.R"))
suppressPackageStartupMessages(library(sandwich))

# ---------------------------------------------------------------- paired gap tests
paired_tests <- function(perf, std, group, level_name) {
  rows <- list()
  for (g in sort(unique(group))) {
    sel <- group == g
    for (unit in colnames(perf)) {
      p <- perf[sel, unit]; e <- std[sel, unit]
      ok <- !is.na(p) & !is.na(e)
      p <- p[ok]; e <- e[ok]; d <- p - e
      tt <- t.test(p, e, paired = TRUE)
      w <- suppressWarnings(wilcox.test(round(d, 10)))  # equal scores tie exactly
      n <- length(d)
      d_av <- (mean(p) - mean(e)) / sqrt((var(p) + var(e)) / 2)
      rows[[length(rows) + 1]] <- data.frame(
        level = level_name, group = g, unit = unit, n = n, performance = mean(p), standard = mean(e),
        mean_gap = mean(d), sd = sd(d), ci_low = tt$conf.int[1], ci_high = tt$conf.int[2],
        t = unname(tt$statistic), df = unname(tt$parameter), p_t = tt$p.value,
        w = unname(w$statistic), p_wilcoxon = w$p.value, d_z = mean(d) / sd(d),
        hedges_g = d_av * (1 - 3 / (4 * 2 * n - 9)), stringsAsFactors = FALSE)
    }
  }
  out <- do.call(rbind, rows)
  out$p_t_holm <- p.adjust(out$p_t, "holm")
  out$p_wilcoxon_holm <- p.adjust(out$p_wilcoxon, "holm")
  out$p_t_bh <- p.adjust(out$p_t, "BH")
  out
}

fx <- servqual_fixture()
paired <- pair(fx$ratings)
seg <- fx$raw$segment
gap_tests <- list(
  item = paired_tests(paired$perception, paired$expectation, seg, "item"),
  dimension = paired_tests(dimension_scores(paired$perception, fx$dims),
                           dimension_scores(paired$expectation, fx$dims), seg, "dimension")
)

# unpaired: each measure from everyone who rated it (Welch t.test, rank-sum wilcox.test)
unpaired_tests <- function(perf, std, group) {
  rows <- list()
  for (g in sort(unique(group))) {
    sel <- group == g
    for (unit in colnames(perf)) {
      p <- perf[sel, unit]; e <- std[sel, unit]
      p <- p[!is.na(p)]; e <- e[!is.na(e)]
      tt <- t.test(p, e)
      w <- suppressWarnings(wilcox.test(p, e))
      n1 <- length(p); n2 <- length(e)
      pooled <- sqrt(((n1 - 1) * var(p) + (n2 - 1) * var(e)) / (n1 + n2 - 2))
      rows[[length(rows) + 1]] <- data.frame(
        group = g, unit = unit, n_performance = n1, n_standard = n2, performance = mean(p), standard = mean(e),
        mean_gap = mean(p) - mean(e), ci_low = tt$conf.int[1], ci_high = tt$conf.int[2],
        t = unname(tt$statistic), df = unname(tt$parameter), p_t = tt$p.value,
        w = unname(w$statistic), p_wilcoxon = w$p.value,
        hedges_g = (mean(p) - mean(e)) / pooled * (1 - 3 / (4 * (n1 + n2) - 9)), stringsAsFactors = FALSE)
    }
  }
  do.call(rbind, rows)
}
gap_tests$item_unpaired <- unpaired_tests(fx$ratings$perception, fx$ratings$expectation, seg)
gap_tests$dimension_unpaired <- unpaired_tests(dimension_scores(fx$ratings$perception, fx$dims),
                                               dimension_scores(fx$ratings$expectation, fx$dims), seg)

# ---------------------------------------------------------------- segments (psychometrics fixture)
psy <- read_raw(file.path(data_dir, "fixture-psychometrics.csv"))
sq_dims <- list(tangibles = paste0("T", 1:4), reliability = paste0("RL", 1:5), responsiveness = paste0("RS", 1:4),
                assurance = paste0("A", 1:4), empathy = paste0("E", 1:5))
sq_items <- unlist(sq_dims, use.names = FALSE)
reverse <- c(sq_dims$responsiveness, sq_dims$empathy)
psy_ratings <- list(
  expectation = prepare(psy, setNames(paste0("expectation_", sq_items), sq_items), character(0), reverse, 1, 7)$values,
  perception = prepare(psy, setNames(paste0("perception_", sq_items), sq_items), character(0), reverse, 1, 7)$values
)
psy_paired <- pair(psy_ratings)
gap_dims <- dimension_scores(psy_paired$perception, sq_dims) - dimension_scores(psy_paired$expectation, sq_dims)

segment_rows <- list(); gh_rows <- list()
for (d in names(sq_dims)) {
  y <- gap_dims[, d]; g <- psy$segment
  ok <- !is.na(y); y <- y[ok]; g <- g[ok]
  ow <- oneway.test(y ~ g, var.equal = FALSE)
  kw <- kruskal.test(round(y, 10) ~ factor(g))  # ranks need exact ties
  segment_rows[[d]] <- data.frame(dimension = d, n = length(y), welch_f = unname(ow$statistic),
                                  df1 = unname(ow$parameter[1]), df2 = unname(ow$parameter[2]),
                                  p_welch = ow$p.value, kruskal_h = unname(kw$statistic),
                                  kruskal_df = unname(kw$parameter), p_kruskal = kw$p.value)
  levels <- sort(unique(g)); k <- length(levels)
  for (pair_ in combn(levels, 2, simplify = FALSE)) {
    a <- y[g == pair_[1]]; b <- y[g == pair_[2]]
    va <- var(a) / length(a); vb <- var(b) / length(b)
    se <- sqrt(va + vb); t <- (mean(a) - mean(b)) / se
    df <- (va + vb)^2 / (va^2 / (length(a) - 1) + vb^2 / (length(b) - 1))
    gh_rows[[length(gh_rows) + 1]] <- data.frame(dimension = d, a = pair_[1], b = pair_[2], diff = mean(a) - mean(b),
                                                 se = se, t = t, df = df,
                                                 p = ptukey(sqrt(2) * abs(t), k, df, lower.tail = FALSE))
  }
}

# ---------------------------------------------------------------- cycles (Welch t, 2005 -> 2006)
fx6 <- servqual_fixture("fixture-servqual-2006.csv")
p5 <- pair(fx$ratings); p6 <- pair(fx6$ratings)
g5 <- dimension_scores(p5$perception, fx$dims) - dimension_scores(p5$expectation, fx$dims)
g6 <- dimension_scores(p6$perception, fx$dims) - dimension_scores(p6$expectation, fx$dims)
year_rows <- list()
for (s in sort(unique(c(fx$raw$segment, fx6$raw$segment)))) {
  for (d in names(fx$dims)) {
    a <- g5[fx$raw$segment == s, d]; b <- g6[fx6$raw$segment == s, d]
    a <- a[!is.na(a)]; b <- b[!is.na(b)]
    tt <- t.test(b, a)
    pooled <- sqrt(((length(a) - 1) * var(a) + (length(b) - 1) * var(b)) / (length(a) + length(b) - 2))
    year_rows[[length(year_rows) + 1]] <- data.frame(
      segment = s, dimension = d, n_from = length(a), n_to = length(b), change = mean(b) - mean(a),
      ci_low = tt$conf.int[1], ci_high = tt$conf.int[2], t = unname(tt$statistic), df = unname(tt$parameter),
      p = tt$p.value, hedges_g = (mean(b) - mean(a)) / pooled * (1 - 3 / (4 * (length(a) + length(b)) - 9)))
  }
}
year <- do.call(rbind, year_rows)
year$p_adj <- p.adjust(year$p, "holm")

# ---------------------------------------------------------------- drivers (psychometrics fixture)
perc_dims <- dimension_scores(psy_ratings$perception, sq_dims)
overall <- as.numeric(psy$overall)
data <- na.omit(data.frame(overall = overall, perc_dims))
fit <- lm(overall ~ ., data = data)
vc <- vcovHC(fit, type = "HC3")
se <- sqrt(diag(vc))
tval <- coef(fit) / se
dfr <- fit$df.residual
pval <- 2 * pt(abs(tval), dfr, lower.tail = FALSE)
r2_of <- function(vars) if (length(vars) == 0) 0 else summary(lm(reformulate(vars, "overall"), data = data))$r.squared
preds <- names(sq_dims); p <- length(preds)
lmg <- sapply(preds, function(j) {
  others <- setdiff(preds, j); total <- 0
  for (size in 0:(p - 1)) {
    subsets <- if (size == 0) list(character(0)) else combn(others, size, simplify = FALSE)
    weight <- factorial(size) * factorial(p - size - 1) / factorial(p)
    for (s in subsets) total <- total + weight * (r2_of(c(s, j)) - r2_of(s))
  }
  total
})
beta <- coef(fit)[-1] * sapply(data[preds], sd) / sd(data$overall)
drivers <- list(
  n = nrow(data), r2 = summary(fit)$r.squared, adj_r2 = summary(fit)$adj.r.squared,
  coef = as.list(coef(fit)), se_hc3 = as.list(se), t = as.list(tval), p = as.list(pval),
  ci_low = as.list(coef(fit) - qt(0.975, dfr) * se), ci_high = as.list(coef(fit) + qt(0.975, dfr) * se),
  beta = as.list(beta), lmg = as.list(lmg)
)

# ---------------------------------------------------------------- importance-performance (items)
perc_all <- psy_ratings$perception; exp_all <- psy_ratings$expectation
ipa <- data.frame(item = sq_items,
                  performance = colMeans(perc_all, na.rm = TRUE),
                  importance_stated = colMeans(exp_all, na.rm = TRUE),
                  importance_derived = sapply(sq_items, function(i) cor(perc_all[, i], overall, use = "complete.obs")))

write_golden(list(gap_tests = gap_tests, segments = do.call(rbind, segment_rows),
                  games_howell = do.call(rbind, gh_rows), year_changes = year, drivers = drivers, ipa = ipa),
             "compare.json", auto_unbox = TRUE, dataframe = "rows")
