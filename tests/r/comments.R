# Comments: Wilson intervals (prop.test without continuity correction), Welch differences
# (t.test) of each theme's writers against everyone else, Cohen's kappa (psych).
# Usage: Rscript comments.R FOLDER (freq.csv, gaps.csv, links.csv, kappa.csv → out.json)
suppressPackageStartupMessages({library(jsonlite); library(psych)})
folder <- commandArgs(trailingOnly = TRUE)[1]
freq <- read.csv(file.path(folder, "freq.csv"))
ci <- t(mapply(function(x, n) prop.test(x, n, correct = FALSE)$conf.int, freq$mentions, freq$commenters))
gaps <- read.csv(file.path(folder, "gaps.csv"), check.names = FALSE)
links <- read.csv(file.path(folder, "links.csv"), stringsAsFactors = FALSE)
welch <- lapply(seq_len(nrow(links)), function(k) {
  g <- gaps[[links$dimension[k]]]
  m <- gaps[[paste0("m_", links$theme[k])]] == 1
  keep <- !is.na(g)
  t.test(g[keep & m], g[keep & !m])
})
kap <- read.csv(file.path(folder, "kappa.csv"))
out <- list(wilson_low = ci[, 1], wilson_high = ci[, 2],
            difference = sapply(welch, function(w) unname(w$estimate[1] - w$estimate[2])),
            ci_low = sapply(welch, function(w) w$conf.int[1]), df = sapply(welch, function(w) unname(w$parameter)),
            p = sapply(welch, function(w) w$p.value),
            kappa = cohen.kappa(cbind(kap$x, kap$y))$kappa)
writeLines(toJSON(out, digits = NA), file.path(folder, "out.json"))
