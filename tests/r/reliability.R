# Golden values for servqual.reliability: psych::alpha and psych::alpha.ci on fixtures
# with missing values, reverse-keyed items and (unkeyed) negatively correlated items.
#
#   Rscript tests/r/reliability.R            (or `make golden`)
#
# Writes tests/golden/reliability.json. Data preparation is written out here by hand:
# N/A code 0 -> NA, reverse keying x -> 8 - x, respondents with no answer dropped.

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "common.R"))
suppressPackageStartupMessages({
  library(psych)
})

raw <- read.csv(file.path(data_dir, "fixture-servqual.csv"), colClasses = "character", na.strings = c("", "NA"))
items <- c("a1", "b1", "a2", "b2", "c1", "a3", "b3", "c2", "b4", "c3")
measure <- function(prefix, keyed) {
  x <- sapply(items, function(i) as.numeric(raw[[paste0(prefix, i)]]))
  x[!is.na(x) & x == 0] <- NA
  if (keyed) x[, c("b2", "c3")] <- 8 - x[, c("b2", "c3")]
  colnames(x) <- items
  as.data.frame(x)
}
drop_empty <- function(x) x[rowSums(!is.na(x)) > 0, , drop = FALSE]

report <- function(x, listwise = FALSE) {
  x <- drop_empty(x)
  if (listwise) x <- na.omit(x)
  a <- suppressWarnings(psych::alpha(x, warnings = FALSE))
  ci95 <- psych::alpha.ci(a$total$raw_alpha, nrow(x), ncol(x), p.val = 0.05)
  ci90 <- psych::alpha.ci(a$total$raw_alpha, nrow(x), ncol(x), p.val = 0.10)
  freq <- a$response.freq
  list(
    n_obs = nrow(x),
    total = as.list(a$total),
    alpha_drop = cbind(item = rownames(a$alpha.drop), a$alpha.drop),
    item_stats = cbind(item = rownames(a$item.stats), a$item.stats),
    response_freq = if (is.null(freq)) NULL else cbind(item = rownames(freq), as.data.frame(unclass(freq))),
    feldt95 = c(ci95$lower.ci, ci95$upper.ci),
    feldt90 = c(ci90$lower.ci, ci90$upper.ci)
  )
}

p_keyed <- measure("P_", TRUE)
e_keyed <- measure("E_", TRUE)
p_raw <- measure("P_", FALSE)

core <- read.csv(file.path(data_dir, "fixture-core.csv"), colClasses = "character", na.strings = c("", "NA"))
core_items <- c(paste0("AS", 1:9), paste0("IC", 1:8), paste0("LP", 1:5))
perceived <- sapply(core_items, function(i) {
  v <- core[[paste0("perceived_", i)]]
  v[v %in% c("0", "N/A")] <- NA
  as.numeric(v)
})
perceived <- as.data.frame(perceived)

golden <- list(
  perception_keyed_pairwise = report(p_keyed),
  perception_keyed_listwise = report(p_keyed, listwise = TRUE),
  perception_unkeyed_pairwise = report(p_raw),
  expectation_beta_pairwise = report(e_keyed[, c("b1", "b2", "b3", "b4")]),
  perception_two_items = report(p_keyed[, c("a1", "a2")]),
  core_perceived_pairwise = report(perceived),
  core_perceived_listwise = report(perceived, listwise = TRUE)
)
# Lord/Johns reliability of each dimension's gap score, on the paired answers (items
# rated on both measures), with dimension scores under the at-least-half rule
complete <- !is.na(p_keyed) & !is.na(e_keyed)
p_pair <- p_keyed; p_pair[!complete] <- NA
e_pair <- e_keyed; e_pair[!complete] <- NA
g_pair <- p_pair - e_pair
dims <- list(alpha = c("a1", "a2", "a3"), beta = c("b1", "b2", "b3", "b4"), gamma = c("c1", "c2", "c3"))
dim_score <- function(x, items) {
  block <- x[, items, drop = FALSE]
  count <- rowSums(!is.na(block))
  s <- rowSums(block, na.rm = TRUE) / count
  s[count < ceiling(length(items) / 2)] <- NA
  s
}
raw_alpha <- function(x) suppressWarnings(psych::alpha(drop_empty(x), warnings = FALSE))$total$raw_alpha
gap_rel <- lapply(names(dims), function(d) {
  items <- dims[[d]]
  a_p <- raw_alpha(p_pair[, items]); a_e <- raw_alpha(e_pair[, items]); a_g <- raw_alpha(g_pair[, items])
  both <- na.omit(cbind(dim_score(p_pair, items), dim_score(e_pair, items)))
  s_p <- sd(both[, 1]); s_e <- sd(both[, 2]); r_pe <- cor(both[, 1], both[, 2])
  r_dd <- (s_p^2 * a_p + s_e^2 * a_e - 2 * r_pe * s_p * s_e) / (s_p^2 + s_e^2 - 2 * r_pe * s_p * s_e)
  list(dimension = d, n = nrow(both), alpha_expectation = a_e, alpha_perception = a_p, alpha_item_gaps = a_g,
       sd_expectation = s_e, sd_perception = s_p, r_perception_expectation = r_pe, r_difference = r_dd)
})
golden$gap_reliability <- gap_rel
# listwise: per dimension only respondents who rated every item on both measures, for the
# alphas and the dimension scores alike
golden$gap_reliability_listwise <- lapply(names(dims), function(d) {
  items <- dims[[d]]
  keep <- complete.cases(p_keyed[, items]) & complete.cases(e_keyed[, items])
  p <- p_keyed[keep, items]; e <- e_keyed[keep, items]
  a_p <- raw_alpha(p); a_e <- raw_alpha(e); a_g <- raw_alpha(p - e)
  sp <- rowMeans(p); se <- rowMeans(e)
  s_p <- sd(sp); s_e <- sd(se); r_pe <- cor(sp, se)
  r_dd <- (s_p^2 * a_p + s_e^2 * a_e - 2 * r_pe * s_p * s_e) / (s_p^2 + s_e^2 - 2 * r_pe * s_p * s_e)
  list(dimension = d, n = sum(keep), alpha_expectation = a_e, alpha_perception = a_p, alpha_item_gaps = a_g,
       sd_expectation = s_e, sd_perception = s_p, r_perception_expectation = r_pe, r_difference = r_dd)
})
# omega total of one factor (psych::fa(fm = "ml")), pairwise and listwise, per dimension
omega_one <- function(x) {
  f <- suppressWarnings(psych::fa(x, 1, fm = "ml", warnings = FALSE))
  lam <- as.numeric(f$loadings[, 1]); lam <- lam * sign(sum(lam))
  s <- apply(x, 2, sd, na.rm = TRUE)
  (sum(lam * s))^2 / ((sum(lam * s))^2 + sum((1 - lam^2) * s^2))
}
golden$omega_pairwise <- lapply(dims, function(items) omega_one(drop_empty(p_keyed[, items])))
golden$omega_listwise <- lapply(dims, function(items) omega_one(na.omit(p_keyed[, items])))

path <- file.path(out_dir, "reliability.json")
writeLines(toJSON(golden, digits = NA, na = "null", auto_unbox = TRUE, dataframe = "rows"), path)
cat("wrote", path, "\n")
